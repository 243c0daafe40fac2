#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that every content page of a gi-docgen config has a title.

    check-titles.py CONFIG.toml CONTENT-DIR...

A page is looked up in the content folders in order, as gi-docgen does;
its first line must be "Title: <something>". Prints TAP; exits 1 when a
page is missing or has no title.
"""
import os
import re
import sys


def content_files(config):
    text = open(config, encoding="utf-8").read()
    match = re.search(r"content_files\s*=\s*\[(.*?)\]", text, re.S)
    return re.findall(r'"([^"]+)"', match.group(1)) if match else []


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    pages = content_files(argv[1])
    if not pages:
        print(f"Bail out! no content_files in {argv[1]}")
        return 1
    print(f"1..{len(pages)}")
    failed = 0
    for number, page in enumerate(pages, 1):
        found = next((os.path.join(d, page) for d in argv[2:]
                      if os.path.exists(os.path.join(d, page))), None)
        if found is None:
            problem = "missing"
        else:
            with open(found, encoding="utf-8") as source:
                first = source.readline()
            problem = None if re.match(r"Title:\s*\S", first) else \
                f"first line is {first.strip()!r}, not a Title"
        if problem:
            failed += 1
            print(f"not ok {number} {page}: {problem}")
        else:
            print(f"ok {number} {page}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
