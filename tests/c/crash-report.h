/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A test process that crashes says where, on its stderr, before it dies
 * by the same signal: a g_test_trap_subprocess() child that died of
 * SIGSEGV otherwise leaves only "killed by signal 11" and empty output,
 * and GLib turns core dumps off in such children.
 *
 *   crash_report_install ();   in the process (or subprocess) to watch
 *
 * The handler writes the signal, the faulting address and a backtrace
 * (glibc's backtrace_symbols_fd(): no allocation; `addr2line -e PROGRAM
 * OFFSET` names a static function from its +OFFSET), then restores the
 * default action and raises the signal again, so the exit status is the
 * crash's. It runs on an alternate stack in the thread that installed it
 * (a stack overflow there is reported too); threads that block signals,
 * as GLib's own worker thread does, still die silently. Sanitizer builds
 * report crashes themselves (ASan's handle_segv): nothing is installed
 * there. */

#include <glib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_REPORT_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CRASH_REPORT_SANITIZER 1
#endif
#endif

#ifndef CRASH_REPORT_SANITIZER
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
crash_report_write (const char *text)
{
  gsize left = strlen (text);

  while (left > 0)
    {
      ssize_t n = write (STDERR_FILENO, text, left);

      if (n <= 0)
        return;
      text += n;
      left -= (gsize) n;
    }
}

static void
crash_report_handler (int        sig,
                      siginfo_t *info,
                      void      *context)
{
  void *frames[64];
  char line[160];
  const char *name = sig == SIGSEGV ? "SIGSEGV" : sig == SIGBUS ? "SIGBUS" :
                     sig == SIGILL ? "SIGILL" : "SIGFPE";
  int n_frames;

  /* snprintf of integers and pointers does not allocate in glibc */
  snprintf (line, sizeof line, "\nCRASH: signal %d (%s) at address %p, pid %d\nbacktrace:\n",
            sig, name, info->si_addr, (int) getpid ());
  crash_report_write (line);
  n_frames = backtrace (frames, G_N_ELEMENTS (frames));
  backtrace_symbols_fd (frames, n_frames, STDERR_FILENO);
  crash_report_write ("CRASH: end of backtrace\n");

  signal (sig, SIG_DFL);
  raise (sig);
}

static inline void
crash_report_install (void)
{
  static char alternate[64 * 1024];
  const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
  stack_t stack = { .ss_sp = alternate, .ss_size = sizeof alternate };
  struct sigaction action = { 0, };
  void *warm[2];

  /* The first backtrace() loads libgcc_s: do it now, not in a crash
   * (perhaps under an address-space limit). */
  (void) backtrace (warm, G_N_ELEMENTS (warm));
  g_assert_cmpint (sigaltstack (&stack, NULL), ==, 0);
  action.sa_sigaction = crash_report_handler;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset (&action.sa_mask);
  for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
    g_assert_cmpint (sigaction (signals[i], &action, NULL), ==, 0);
}
#else
static inline void
crash_report_install (void)
{
}
#endif
