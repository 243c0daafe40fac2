#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# check-private-copies.sh LIBRARY PROGRAM...
#
# The worker programs link the shared library and take private helpers
# from the internal static library. If a helper they use sits in an
# object file that also defines public symbols, the program gets its own
# copy of those too: two copies of a GType in one process once a task
# module linked to the shared library registers it. Fails, naming them,
# if a PROGRAM defines any symbol that LIBRARY exports.
set -euo pipefail
library=$1
shift
exported=$(nm -D --defined-only "$library" | awk '{print $3}' | sort -u)
[[ -n $exported ]] || { echo "no exported symbol in $library" >&2; exit 1; }
status=0
for program in "$@"; do
  defined=$(nm --defined-only "$program" | awk '{print $3}' | sort -u)
  copies=$(comm -12 <(echo "$exported") <(echo "$defined"))
  if [[ -n $copies ]]; then
    echo "$program has its own copy of public symbols of $library:" >&2
    echo "$copies" | sed 's/^/  /' >&2
    echo "move the private helper it needs into a file without public symbols" >&2
    status=1
  else
    echo "$(basename "$program"): $(echo "$defined" | grep -c '^job_' || true) private job_ symbols, no public copy"
  fi
done
exit $status
