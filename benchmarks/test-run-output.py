#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Where benchmarks/run writes (fast, no benchmark is run): a full run
writes the committed benchmarks/results, --quick and --dry-run write the
git-ignored benchmarks/results/quick, --output wins over both. Each run
is pointed at an empty build folder, so it stops at the check for the
benchmark programs, before any file is written."""

import os
import subprocess
import tempfile
import unittest

SRC = os.environ.get('JOB_SOURCE_ROOT', os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RUN = os.path.join(SRC, 'benchmarks', 'run')
RESULTS = os.path.join(SRC, 'benchmarks', 'results')
QUICK = os.path.join(RESULTS, 'quick')


def announced_output(*args):
    """Runs benchmarks/run against an empty build folder; returns the output
    folder it announces. It must then refuse the empty build folder."""
    with tempfile.TemporaryDirectory(prefix='bench-out-') as empty:
        done = subprocess.run([RUN, '--no-build', '--build-dir', empty, *args],
                              capture_output=True, text=True, timeout=120)
    if done.returncode != 2 or 'holds no benchmarks' not in done.stderr:
        raise AssertionError(f'unexpected exit {done.returncode}: {done.stderr[-2000:]}')
    for line in done.stderr.splitlines():
        if ' run, results go to ' in line:
            return line.split(' run, results go to ', 1)[1]
    raise AssertionError(f'no output folder announced: {done.stderr[-2000:]}')


class OutputFolder(unittest.TestCase):
    def test_full_run_writes_the_committed_results(self):
        self.assertEqual(announced_output(), RESULTS)

    def test_quick_run_keeps_off_the_committed_results(self):
        self.assertEqual(announced_output('--quick'), QUICK)
        self.assertEqual(announced_output('--quick', '--dry-run'), QUICK)
        self.assertEqual(announced_output('--dry-run'), QUICK)

    def test_output_option_wins(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, 'mine')
            self.assertEqual(announced_output('--quick', '--output', out), out)
            self.assertFalse(os.path.exists(out))  # nothing written before the check

    def test_quick_folder_is_ignored_by_git(self):
        with open(os.path.join(SRC, '.gitignore')) as f:
            self.assertIn('/benchmarks/results/quick/', f.read().split())


if __name__ == '__main__':
    unittest.main(verbosity=2)
