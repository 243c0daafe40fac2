#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compile every ```c block of the given Markdown files against the library.

    check-snippets.py --cc CC [--cc-arg ARG]... --pkg-config-path DIR FILE.md|DIR...

(a folder stands for every .md file in it)

Documentation shows fragments as often as whole programs, so a block is
split in two: function definitions (a line at column 0 that opens with
"{" after a signature), file-scope "static" declarations and preprocessor
lines stay at file scope, in their order; every other line becomes the
body of a function of its own. A block that defines main() is a whole
program and is linked as well. A block must declare every name it uses
(the reader has to see them too); the flags are those of the uninstalled
pkg-config file, i.e. what an application gets.

A block preceded by the line "<!-- snippet: skip -->" is not compiled.
Prints TAP; exits 1 if any block fails.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

FENCE_OPEN = re.compile(r'^```c\s*$')
SKIP_MARK = '<!-- snippet: skip -->'
WARNINGS = [
    '-std=gnu11', '-Wall', '-Wextra', '-Werror',
    '-Werror=implicit-function-declaration',
    # Fragments show a value being obtained; they need not use it.
    '-Wno-unused-variable', '-Wno-unused-but-set-variable',
    '-Wno-unused-parameter', '-Wno-unused-function',
]


def blocks(path):
    """Yields (line number, text lines, skipped) for each ```c block."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    i = 0
    while i < len(lines):
        if FENCE_OPEN.match(lines[i]):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].rstrip() != '```':
                j += 1
            skipped = any(l.strip() == SKIP_MARK for l in lines[max(0, i - 2):i])
            yield start + 1, lines[start:j], skipped
            i = j
        i += 1


def split_block(lines):
    """Returns (file-scope lines, body lines) of a block."""
    # (a "struct _X" or "enum" definition is caught by its "{" at column 0)
    top = [False] * len(lines)
    n = len(lines)
    # Function definitions: "{" at column 0, its signature above it (up to a
    # blank line or the end of the previous statement), up to "}" at col 0.
    for i, line in enumerate(lines):
        if line.startswith('{'):
            s = i - 1
            while s >= 0 and lines[s].strip() and not lines[s].rstrip().endswith((';', '}')) \
                    and not lines[s].startswith(('#', '}')):
                s -= 1
            # Keep a comment that sits right above the signature with it.
            e = i
            while e < n and not lines[e].startswith('}'):
                e += 1
            for k in range(s + 1, min(e, n - 1) + 1):
                top[k] = True
    # File-scope declarations, type macros and preprocessor lines.
    i = 0
    while i < n:
        line = lines[i]
        if not top[i] and line.startswith(('static ', '#', 'G_DECLARE_', 'G_DEFINE_')):
            j = i
            if line.startswith('static '):
                while j < n and not lines[j].rstrip().endswith(';'):
                    j += 1
            elif line.startswith('G_'):
                depth = line.count('(') - line.count(')')
                while j + 1 < n and depth > 0:
                    j += 1
                    depth += lines[j].count('(') - lines[j].count(')')
            for k in range(i, min(j, n - 1) + 1):
                top[k] = True
            i = j
        i += 1
    file_scope = [l if top[k] else '' for k, l in enumerate(lines)]
    body = ['' if top[k] else l for k, l in enumerate(lines)]
    return file_scope, body


def translation_unit(lines, name):
    file_scope, body = split_block(lines)
    has_body = any(l.strip() for l in body)
    out = ['#include <joblib-glib.h>', '#include <glib/gstdio.h>', '#line 1']
    # Keep every line at its own line number, for the compiler's messages.
    out += file_scope
    if has_body:
        out += ['void %s (void);' % name, 'void', '%s (void)' % name, '{', '#line 1']
        out += body
        out += ['}']
    return '\n'.join(out) + '\n'


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cc', required=True)
    parser.add_argument('--cc-arg', action='append', default=[])
    parser.add_argument('--pkg-config-path', required=True)
    parser.add_argument('files', nargs='+')
    args = parser.parse_args()

    env = dict(os.environ, PKG_CONFIG_PATH=args.pkg_config_path)
    flags = subprocess.run(['pkg-config', '--cflags', 'joblib-glib-1.0'], env=env,
                           check=True, capture_output=True, text=True).stdout.split()
    libs = subprocess.run(['pkg-config', '--libs', 'joblib-glib-1.0'], env=env,
                          check=True, capture_output=True, text=True).stdout.split()

    paths = []
    for path in args.files:
        if os.path.isdir(path):
            paths += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith('.md'))
        else:
            paths.append(path)
    cases = []
    for path in paths:
        for line, lines, skipped in blocks(path):
            cases.append((path, line, lines, skipped))
    print('1..%d' % len(cases))
    failed = 0
    with tempfile.TemporaryDirectory(prefix='joblib-snippets-') as tmp:
        for n, (path, line, lines, skipped) in enumerate(cases, 1):
            label = '%s:%d' % (os.path.relpath(path), line)
            if skipped:
                print('ok %d %s # SKIP marked' % (n, label))
                continue
            source = os.path.join(tmp, 'snippet-%d.c' % n)
            unit = translation_unit(lines, 'snippet_%d' % n)
            # #line directives name the Markdown file and its line.
            unit = unit.replace('#line 1', '#line %d "%s"' % (line, path))
            with open(source, 'w', encoding='utf-8') as f:
                f.write(unit)
            is_program = any(re.match(r'^main\s*\(', l) for l in lines)
            command = [args.cc] + args.cc_arg + WARNINGS + flags
            if is_program:
                command += [source, '-o', source + '.out'] + libs
            else:
                command += ['-c', source, '-o', source + '.o']
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode == 0:
                print('ok %d %s' % (n, label))
            else:
                failed += 1
                print('not ok %d %s' % (n, label))
                for text in (result.stdout + result.stderr).splitlines():
                    print('# ' + text)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
