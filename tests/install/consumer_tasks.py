# SPDX-License-Identifier: LGPL-2.1-or-later
"""A module the Python worker imports (consumer.py)."""


def cube(x):
    return x ** 3
