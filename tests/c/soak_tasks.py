# SPDX-License-Identifier: LGPL-2.1-or-later
"""The soak test's tasks for the Python worker (test-soak.c)."""

import numpy

_cached = {}


def payload(x, size):
    """``size`` bytes of value x mod 256, as numpy arrays travel (their
    buffer shared with the GVariant, not converted byte by byte)."""
    return numpy.full(size, x & 0xFF, dtype=numpy.uint8)


def cached_payload(location, x, size):
    """payload() through a joblib_glib Memory at ``location``, made once
    per worker: the worker computes, stores and reads cache entries the
    way a Python program of the user's does."""
    cached = _cached.get(location)
    if cached is None:
        from joblib_glib import Memory
        cached = _cached[location] = Memory(location, verbose=0).cache(payload)
    return cached(x, size)
