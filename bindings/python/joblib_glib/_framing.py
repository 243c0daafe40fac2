# SPDX-License-Identifier: LGPL-2.1-or-later
"""The framing offsets of serialized GVariant containers (the GVariant
specification, "Framing offsets"), for the Python code that reads or writes
serialized forms by hand: little-endian integers, all of the smallest width
that addresses the whole container.  The C library's counterpart is
job-variant-framing-private.h."""


def offset_width(size):
    """The width of the offsets of a container of ``size`` bytes, offsets
    included."""
    return 1 if size <= 0xff else 2 if size <= 0xffff else 4 if size <= 0xffffffff else 8


def offset_width_for_body(body_size, n_offsets):
    """The width of ``n_offsets`` offsets written after ``body_size`` bytes:
    the smallest with which the container they make can be addressed."""
    for width, limit in ((1, 0xff), (2, 0xffff), (4, 0xffffffff)):
        if body_size + width * n_offsets <= limit:
            return width
    return 8
