# SPDX-License-Identifier: LGPL-2.1-or-later
"""The soak test's task for the Python worker (test-soak.c)."""

import numpy


def payload(x, size):
    """``size`` bytes of value x mod 256, as numpy arrays travel (their
    buffer shared with the GVariant, not converted byte by byte)."""
    return numpy.full(size, x & 0xFF, dtype=numpy.uint8)
