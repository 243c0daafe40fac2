/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * joblib-glib-worker-launch: starts a worker program written in a language
 * that cannot set itself up as a process worker (GJS):
 *
 *   joblib-glib-worker-launch [--protocol-fds IN,OUT] [--setenv NAME=VALUE]...
 *                             -- PROGRAM [ARGUMENT...]
 *
 * - asks the kernel to kill it when the parent (the pool) dies, as the
 *   native worker does itself, and exits at once if the parent is
 *   already gone;
 * - with --protocol-fds, moves the protocol pipes (stdin and stdout, as
 *   the pool spawns workers) to descriptors IN and OUT, points stdin at
 *   /dev/null and stdout at stderr, so that what the program prints never
 *   corrupts the protocol;
 * - sets the variables, then executes PROGRAM (searched in PATH).
 *
 * It replaces `setpriv --pdeathsig KILL sh -c 'exec 4<&0 5>&1 …'`, which
 * needs util-linux's setpriv, absent from sandboxes such as Flatpak
 * runtimes. It uses no GLib: it only moves descriptors and calls exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void
usage_error (const char *message)
{
  fprintf (stderr, "joblib-glib-worker-launch: %s\n"
           "usage: joblib-glib-worker-launch [--protocol-fds IN,OUT] "
           "[--setenv NAME=VALUE]... -- PROGRAM [ARGUMENT...]\n", message);
  exit (2);
}

static int
parse_fd (const char *text,
          char      **end)
{
  long value;

  errno = 0;
  value = strtol (text, end, 10);
  if (errno != 0 || *end == text || value < 3 || value > 1000)
    usage_error ("--protocol-fds takes two descriptors from 3 to 1000, as 4,5");
  return (int) value;
}

/* Moves @from to @to (closing @from), even when @to is in use. */
static void
move_fd (int from,
         int to)
{
  if (dup2 (from, to) < 0)
    {
      perror ("joblib-glib-worker-launch: dup2");
      exit (127);
    }
}

int
main (int argc, char *argv[])
{
  int fd_in = -1, fd_out = -1;
  pid_t parent = getppid ();
  int i;

  for (i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        {
          i++;
          break;
        }
      else if (strcmp (argv[i], "--protocol-fds") == 0 && i + 1 < argc)
        {
          char *end;

          fd_in = parse_fd (argv[++i], &end);
          if (*end != ',')
            usage_error ("--protocol-fds takes IN,OUT");
          fd_out = parse_fd (end + 1, &end);
          if (*end != '\0' || fd_in == fd_out)
            usage_error ("--protocol-fds takes two different descriptors IN,OUT");
        }
      else if (strcmp (argv[i], "--setenv") == 0 && i + 1 < argc)
        {
          char *assignment = argv[++i];
          char *equal = strchr (assignment, '=');

          if (equal == NULL || equal == assignment)
            usage_error ("--setenv takes NAME=VALUE");
          *equal = '\0';
          if (setenv (assignment, equal + 1, 1) != 0)
            usage_error ("--setenv: invalid name");
        }
      else
        usage_error ("unknown or incomplete option");
    }
  if (i >= argc)
    usage_error ("no program to run after --");

  /* Die with the pool; if it died before prctl(), go now. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () != parent)
    return 1;

  if (fd_in >= 0)
    {
      int null_fd;

      /* Move first: /dev/null opened before could land on IN or OUT. */
      move_fd (0, fd_in);
      move_fd (1, fd_out);
      null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null_fd < 0)
        {
          perror ("joblib-glib-worker-launch: /dev/null");
          return 127;
        }
      move_fd (null_fd, 0);
      move_fd (2, 1);
      close (null_fd);
    }

  execvp (argv[i], argv + i);
  fprintf (stderr, "joblib-glib-worker-launch: cannot run %s: %s\n", argv[i], strerror (errno));
  return 127;
}
