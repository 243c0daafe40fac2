#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib-glib-worker-launch, the starter of GJS workers: descriptors
moved, variables set, parent-death signal, usage errors."""

import os
import signal
import subprocess
import sys
import time
import unittest

LAUNCH = os.environ.get("JOB_WORKER_LAUNCH_PATH") or sys.argv.pop(1)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


class WorkerLaunch(unittest.TestCase):
    def test_moves_protocol_descriptors(self):
        script = ("for fd in 0 1 4 5; do printf '%s %s\\n' $fd $(readlink /proc/self/fd/$fd); "
                  "done >&5; echo printed-by-program")
        proc = subprocess.run([LAUNCH, "--protocol-fds", "4,5", "--", "sh", "-c", script],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=True)
        links = dict(line.split(" ", 1) for line in proc.stdout.decode().splitlines())
        self.assertEqual(links["0"], "/dev/null")
        self.assertTrue(links["4"].startswith("pipe:"), links)   # our stdin pipe
        self.assertTrue(links["5"].startswith("pipe:"), links)   # our stdout pipe
        self.assertNotEqual(links["4"], links["5"])
        self.assertEqual(links["1"], links.get("2", links["1"]))
        # What the program prints goes to stderr, never into the protocol.
        self.assertIn(b"printed-by-program", proc.stderr)
        self.assertNotIn(b"printed-by-program", proc.stdout)

    def test_protocol_reaches_the_program(self):
        proc = subprocess.run([LAUNCH, "--protocol-fds", "4,5", "--setenv", "GREETING=hi there",
                               "--", "sh", "-c", 'read line <&4; echo "$GREETING $line" >&5'],
                              input=b"ping\n", stdout=subprocess.PIPE, check=True)
        self.assertEqual(proc.stdout, b"hi there ping\n")

    def test_without_protocol_fds_only_sets_variables(self):
        proc = subprocess.run([LAUNCH, "--setenv", "A=1", "--", "sh", "-c", "echo $A"],
                              stdout=subprocess.PIPE, check=True)
        self.assertEqual(proc.stdout, b"1\n")

    def test_dies_with_its_parent(self):
        # sh starts the launcher in the background, prints its pid, exits.
        shell = subprocess.Popen(["sh", "-c", f'"{LAUNCH}" -- sleep 300 & echo $!; '
                                  "read _ignored"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE)
        pid = int(shell.stdout.readline())
        try:
            # Once it runs sleep, the launcher has asked for the signal (a
            # parent gone before that is caught by the stdin EOF of real
            # workers, not here).
            deadline = time.monotonic() + 30
            while comm(pid) != "sleep" and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(comm(pid), "sleep")
            shell.stdin.close()          # the parent ends
            shell.wait()
            deadline = time.monotonic() + 30
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertFalse(alive(pid), "the worker outlived its parent")
        finally:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def test_usage_errors(self):
        for args in ([], ["--"], ["sleep", "1"], ["--protocol-fds", "1,5", "--", "true"],
                     ["--protocol-fds", "4,4", "--", "true"], ["--protocol-fds", "4", "--", "true"],
                     ["--protocol-fds", "4,x", "--", "true"], ["--setenv", "NOVALUE", "--", "true"],
                     ["--setenv", "=v", "--", "true"], ["--bogus", "--", "true"]):
            with self.subTest(args=args):
                proc = subprocess.run([LAUNCH] + args, stderr=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL)
                self.assertEqual(proc.returncode, 2)
                self.assertIn(b"usage: joblib-glib-worker-launch", proc.stderr)

    def test_missing_program(self):
        proc = subprocess.run([LAUNCH, "--", "/nonexistent/program"], stderr=subprocess.PIPE)
        self.assertEqual(proc.returncode, 127)
        self.assertIn(b"cannot run /nonexistent/program", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
