#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Smoke test of benchmarks/run (suite 'slow'): `--quick --dry-run` runs
every step end to end on tiny sizes against the build under test and
writes its files; bad arguments are refused. No timing is asserted.

Needs JOB_SOURCE_ROOT and JOB_BUILD_ROOT (meson's test_env sets them)."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('JOB_SOURCE_ROOT', os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get('JOB_BUILD_ROOT', '')
RUN = os.path.join(SRC, 'benchmarks', 'run')
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def run(*args, timeout=900):
    return subprocess.run([RUN, *args], capture_output=True, text=True, timeout=timeout)


class DryRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix='bench-run-')
        cls.out = os.path.join(cls.tmp.name, 'results')
        cls.done = run('--quick', '--dry-run', '--no-build', '--build-dir', BUILD,
                       '--output', cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exits_cleanly(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr[-3000:])

    def test_writes_results_and_plots(self):
        self.assertEqual(sorted(os.listdir(self.out)),
                         ['mcmc.png', 'raw.json', 'results.md', 'scaling.png', 'svd.png'])
        for name in ('mcmc.png', 'scaling.png', 'svd.png'):
            with open(os.path.join(self.out, name), 'rb') as f:
                self.assertEqual(f.read(8), PNG_MAGIC, name)

    def test_results_name_every_step_and_the_machine(self):
        with open(os.path.join(self.out, 'results.md')) as f:
            text = f.read()
        self.assertNotIn('FAILED', text)
        for step in ('overhead', 'processes', 'scaling', 'memory', 'persist', 'tutorial',
                     'python-tutorial'):
            self.assertIn(f'*Step `{step}`:', text)
        for key in ('| machine | ', '| load average (1, 5, 15 min) | start ',
                    '| joblib / numpy / matplotlib | ', 'mode | dry-run'):
            self.assertIn(key, text)
        self.assertIn('![svd](svd.png)', text)

    def test_raw_rows_put_both_libraries_side_by_side(self):
        with open(os.path.join(self.out, 'raw.json')) as f:
            rows = json.load(f)['rows']
        # 'joblib_glib': the Python layer, in the scaling step next to
        # the C API ('joblib-glib') and joblib.
        expected = {'overhead': {'joblib', 'joblib-glib'},
                    'scaling': {'joblib', 'joblib-glib', 'joblib_glib'},
                    'tutorial': {'joblib', 'joblib-glib'}}
        for step, impls_expected in expected.items():
            impls = {r['impl'] for r in rows if r['step'] == step}
            self.assertEqual(impls, impls_expected, step)
        svd = [r for r in rows if r.get('workload') == 'svd']
        self.assertEqual({(r['impl'], r['mode'], r['backend']) for r in svd},
                         {('joblib-glib', 'inner', 'sequential'),
                          ('joblib-glib', 'outer', 'processes'),
                          ('joblib-glib', 'outer', 'threading'),
                          ('joblib', 'inner', 'sequential'),
                          ('joblib', 'outer', 'loky')})
        # outer parallelism really ran BLAS on one thread in the workers
        for r in svd:
            if r['mode'] == 'outer':
                self.assertEqual(r['blas_threads'], 1, r)
        for r in rows:
            self.assertGreater(r.get('seconds', r.get('us_per_task', 1)), 0, r)


class BadInput(unittest.TestCase):
    def test_unknown_step(self):
        done = run('--only', 'overhead,nonsense', '--no-build', '--build-dir', BUILD)
        self.assertEqual(done.returncode, 2)
        self.assertIn('unknown step(s) nonsense', done.stderr)

    def test_build_folder_without_benchmarks(self):
        with tempfile.TemporaryDirectory() as empty:
            done = run('--dry-run', '--no-build', '--build-dir', empty,
                       '--output', os.path.join(empty, 'out'))
        self.assertEqual(done.returncode, 2)
        self.assertIn('holds no benchmarks', done.stderr)

    def test_programs_refuse_bad_arguments(self):
        bench = os.path.join(BUILD, 'benchmarks')
        module = os.path.join(bench, 'libbench-tasks.so')
        for argv in ([os.path.join(bench, 'tutorial-bench'), module, 'svd', '0', '1', '2', '1'],
                     [os.path.join(bench, 'tutorial-bench'), module, 'fft', '1', '1', '1', '1'],
                     [os.path.join(bench, 'scaling-bench'), module, 'count', 'gpu', '10', '1'],
                     [os.path.join(bench, 'scaling-bench'), module, 'size', 'threading',
                      '10,20', '1', '1'],
                     [os.path.join(bench, 'scaling-bench'), module, 'count', 'threading',
                      '1e3,x', '1'],
                     ['/usr/bin/python3', os.path.join(SRC, 'benchmarks', 'run_joblib.py'),
                      'size', 'loky', '10,20', '1', '1']):
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            self.assertEqual(done.returncode, 2, argv)
            self.assertNotEqual(done.stderr, '', argv)


if __name__ == '__main__':
    if not BUILD:
        print('JOB_BUILD_ROOT is not set', file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)
