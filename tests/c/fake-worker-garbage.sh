#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A "worker" that writes garbage instead of the protocol, then waits for
# its input to end (so that only the parent's frame check can notice).
printf 'this is not a frame header at all\n'
exec cat > /dev/null
