#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""build-aux/flatpak/joblib-glib-modules.json: valid JSON, the modules the
runtime may lack, joblib-glib built with meson with options that exist."""
import json
import re
import sys

modules_path, options_path = sys.argv[1:3]
with open(modules_path, encoding="utf-8") as handle:
    modules = json.load(handle)
names = [module["name"] for module in modules]
assert names == ["xxhash", "lz4", "joblib-glib"], names
for module in modules:
    assert module.get("sources"), f"{module['name']} has no sources"
    for source in module["sources"]:
        assert source["type"] in ("git", "archive", "dir"), source
        if source["type"] == "git":
            assert source.get("tag") or source.get("commit"), source
ours = modules[-1]
assert ours["buildsystem"] == "meson"
with open(options_path, encoding="utf-8") as handle:
    known = set(re.findall(r"option\('([^']+)'", handle.read()))
for opt in ours["config-opts"]:
    name = opt[2:].split("=", 1)[0]
    assert name in known, f"-D{name} is not an option of meson_options.txt"
print("flatpak modules ok:", ", ".join(names))
