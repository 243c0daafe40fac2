#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write the reference pages of the bindings as gi-docgen content pages.

    gen-reference-pages.py python OUTPUT.md
    gen-reference-pages.py gjs OUTPUT.md MODULE.js...

"python": the public names of the joblib_glib package (its __all__), their
signatures (inspect) and docstrings (pydoc.getdoc), read from the package
that is importable (PYTHONPATH, GI_TYPELIB_PATH). Debian has no JSDoc, so
"gjs" reads the JSDoc comments (/** ... */) right above each `export` of
the given modules itself, with their @param and @returns lines.

Both write Markdown with a Title, so gi-docgen lists the page on its index
next to the other content pages. Exits 1 with a message when a public name
has no documentation: an undocumented entry point fails the docs suite.
"""
import inspect
import os
import pydoc
import re
import sys

PYTHON_HEADER = """Title: Python package reference
Slug: python-reference

# joblib_glib: Python package reference

Generated from the docstrings of the `joblib_glib` package (`pydoc`); the
guide is [Python](python.html). Names are those of `joblib_glib.__all__`:
joblib's own, plus the GLib forms (`start`, `ParallelRun`, `to_variant`…).

"""

GJS_HEADER = """Title: JavaScript (GJS) helpers reference
Slug: gjs-reference

# JavaScript (GJS) helpers reference

Generated from the JSDoc comments of the helper modules that ship inside
the library, under `resource:///org/gnome/JoblibGlib/js/` (and in the
`gjsdir` of the pkg-config file); the guide is
[JavaScript (GJS)](gjs.html).

```js
import Joblib from 'gi://Joblib';
void Joblib.Parallel.$gtype;   // loads the library and its resources
const {map} = await import('resource:///org/gnome/JoblibGlib/js/joblib.js');
```

"""


def fence(text):
    """Docstrings are reStructuredText-ish: keep them verbatim, but as
    Markdown paragraphs with ``code`` turned into `code`."""
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def python_signature(name, obj):
    try:
        return f"{name}{inspect.signature(obj)}"
    except (TypeError, ValueError):
        return name


def python_section(name, obj, level=2):
    doc = pydoc.getdoc(obj)
    kind = "class" if inspect.isclass(obj) else \
        "function" if callable(obj) else type(obj).__name__
    lines = [f"{'#' * level} {name}", "",
             f"```python\n{kind} {python_signature(name, obj) if callable(obj) else name}\n```",
             ""]
    if doc:
        lines += [fence(doc), ""]
    return lines, bool(doc)


def python_page(output):
    import joblib_glib

    lines = [PYTHON_HEADER]
    missing = []
    for name in sorted(joblib_glib.__all__, key=str.lower):
        obj = getattr(joblib_glib, name)
        section, documented = python_section(name, obj)
        if not documented and not isinstance(obj, (str, int, float)):
            missing.append(name)
        lines += section
        if inspect.isclass(obj):
            for member_name, member in sorted(vars(obj).items()):
                if member_name.startswith("_") or not callable(member) and \
                        not isinstance(member, property):
                    continue
                target = member.fget if isinstance(member, property) else member
                if isinstance(target, (staticmethod, classmethod)):
                    target = target.__func__
                if not pydoc.getdoc(target):
                    continue
                section, _ = python_section(f"{name}.{member_name}", target, level=3)
                lines += section
    write(output, lines)
    return missing


JSDOC = re.compile(r"/\*\*(?P<doc>.*?)\*/\s*export\s+(?P<decl>(?:async\s+)?function\*?\s*"
                   r"(?P<fname>\w+)\s*\((?P<args>[^)]*)\)|(?:const|let|class)\s+(?P<name>\w+))",
                   re.S)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+(\w+)", re.M)


def js_comment(doc):
    text = []
    for line in doc.strip().splitlines():
        line = re.sub(r"^\s*\*\s?", "", line).rstrip()
        text.append(line)
    body, tags = [], []
    for line in text:
        match = re.match(r"@(param|returns?)\s+(.*)", line.strip())
        if match:
            tags.append([match.group(1), match.group(2)])
        elif tags and line:
            tags[-1][1] += " " + line.strip()
        else:
            body.append(line)
    out = [" ".join(p.split()) for p in "\n".join(body).split("\n\n") if p.strip()]
    lines = []
    for paragraph in out:
        lines += [paragraph, ""]
    for tag, value in tags:
        value = re.sub(r"^\{([^}]*)\}\s*", r"(`\1`) ", value)
        if tag == "param":
            param = re.match(r"(\(`[^`]*`\) )?\[?([\w.]+)\]?\s*(.*)", value)
            if param:
                kind, pname, rest = param.groups()
                lines.append(f"- `{pname}` {kind or ''}{rest}".rstrip())
                continue
        lines.append(f"- returns {value}")
    if tags:
        lines.append("")
    return lines


def gjs_page(output, modules):
    lines = [GJS_HEADER]
    missing = []
    for module in modules:
        source = open(module, encoding="utf-8").read()
        base = os.path.basename(module)
        documented = {}
        for match in JSDOC.finditer(source):
            # the comment right above the export: no other comment between
            doc = match.group("doc")
            if "/**" in doc:
                doc = doc[doc.rindex("/**") + 3:]
            name = match.group("fname") or match.group("name")
            args = match.group("args")
            signature = f"{name}({' '.join(args.split())})" if args is not None else name
            prefix = "async " if match.group("decl").startswith("async") else ""
            documented[name] = [f"### {name}", "", f"```js\n{prefix}{signature}\n```", ""] + \
                js_comment(doc)
        exports = EXPORT.findall(source)
        if not exports:
            continue
        lines += [f"## {base}", "",
                  f"`import {{…}} from 'resource:///org/gnome/JoblibGlib/js/{base}'`", ""]
        reexports = re.findall(r"^export\s*\{([^}]*)\}\s*from\s*'([^']+)'", source, re.M)
        for names, origin in reexports:
            listed = ", ".join(f"`{n.strip()}`" for n in names.split(",") if n.strip())
            lines += [f"Also exports {listed} from `{os.path.basename(origin)}`.", ""]
        for name in exports:
            if name in documented:
                lines += documented[name]
            else:
                missing.append(f"{base}: {name}")
    write(output, lines)
    return missing


def write(output, lines):
    text = "\n".join(lines).rstrip() + "\n"
    tmp = output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, output)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("python", "gjs") or \
            (argv[1] == "gjs" and len(argv) < 4):
        print(__doc__.strip().splitlines()[2:4], file=sys.stderr)
        return 2
    missing = python_page(argv[2]) if argv[1] == "python" else gjs_page(argv[2], argv[3:])
    if missing:
        print("undocumented: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
