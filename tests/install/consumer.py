# SPDX-License-Identifier: LGPL-2.1-or-later
"""joblib_glib from the installed prefix: threads and worker processes
(the interpreter that runs this script runs the workers too)."""
import sys

import joblib_glib
from joblib_glib import Parallel, delayed

from consumer_tasks import cube

assert joblib_glib.__file__.startswith(sys.argv[1]), joblib_glib.__file__
assert Parallel(n_jobs=2, backend="threading")(delayed(cube)(i) for i in range(5)) == \
    [0, 1, 8, 27, 64]
assert Parallel(n_jobs=2)(delayed(cube)(i) for i in range(20)) == [i ** 3 for i in range(20)]
print("python ok")
