#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""scikit-learn's GridSearchCV on Python joblib's own backends and on
joblib-glib registered as a joblib backend (register_joblib_backend), in
the same run: medians of several fits, seconds, the ratio
joblib-glib/joblib (below 1: joblib-glib is faster), and the load average
around the measures (the machine may be shared).

  /usr/bin/python3 benchmarks/python-gridsearch.py [--repeat N] [--quick]

Run from the build tree with PYTHONPATH=bindings/python and the build's
GI_TYPELIB_PATH / LD_LIBRARY_PATH (or after meson install).  Each backend
fits once before it is measured (worker start-up is not measured, for
either library).  The measures of the two libraries alternate, so that a
change of load hits both.  Every fit must find the same best parameters
and scores as joblib's loky.
"""

import argparse
import os
import statistics
import sys
import time

import joblib
import sklearn
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

import joblib_glib

N_JOBS = 2


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def workloads(quick):
    """(label, X, y, grid, cv): a small search with many short fits, and
    one with fewer, longer fits."""
    small_n = 200 if quick else 400
    large_n = 600 if quick else 2000
    X1, y1 = make_classification(n_samples=small_n, n_features=10, random_state=0)
    X2, y2 = make_classification(n_samples=large_n, n_features=20, random_state=1)
    many = {"C": [0.1, 1, 10, 100], "gamma": [0.001, 0.01, 0.1, 1]}
    few = {"C": [1, 10], "gamma": [0.01, 0.1]}
    return [
        (f"SVC {small_n} samples, 4x4 grid, cv=5 (80 short fits)", X1, y1, many, 5),
        (f"SVC {large_n} samples, 2x2 grid, cv=3 (12 longer fits)", X2, y2, few, 3),
    ]


def fit(backend, X, y, grid, cv, **options):
    with joblib.parallel_backend(backend, n_jobs=N_JOBS, **options):
        start = time.perf_counter()
        search = GridSearchCV(SVC(), grid, cv=cv, n_jobs=N_JOBS).fit(X, y)
        seconds = time.perf_counter() - start
    return seconds, (search.best_params_, search.best_score_,
                     list(search.cv_results_["mean_test_score"]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    options = parser.parse_args()
    joblib_glib.register_joblib_backend()

    print(f"# load average before: {load()}; cpus: {joblib_glib.cpu_count()}; "
          f"joblib {joblib.__version__}; scikit-learn {sklearn.__version__}; "
          f"python {sys.version.split()[0]}; n_jobs={N_JOBS}; medians of {options.repeat}")
    print("| search | joblib backend | joblib (s) | joblib-glib (s) | ratio | load average |")
    print("|---|---|---|---|---|---|")
    pairs = [("processes", ("loky", {}), ("joblib-glib", {})),
             ("threads", ("threading", {}), ("joblib-glib", {"inner": "threads"}))]
    worst = 0.0
    for label, X, y, grid, cv in workloads(options.quick):
        for kind, (theirs, theirs_options), (ours, ours_options) in pairs:
            # warm up: worker start-up is not measured
            _, reference = fit(theirs, X, y, grid, cv, **theirs_options)
            _, found = fit(ours, X, y, grid, cv, **ours_options)
            if found != reference:
                sys.exit(f"{label}: joblib-glib found {found[:2]}, joblib {reference[:2]}")
            theirs_s, ours_s = [], []
            for _ in range(options.repeat):
                theirs_s.append(fit(theirs, X, y, grid, cv, **theirs_options)[0])
                ours_s.append(fit(ours, X, y, grid, cv, **ours_options)[0])
            a, b = statistics.median(theirs_s), statistics.median(ours_s)
            worst = max(worst, b / a)
            print(f"| {label} | {kind} ({theirs}) | {a:.3f} | {b:.3f} | {b / a:.2f} | "
                  f"{load()} |", flush=True)
    print(f"# load average after: {load()}; worst ratio {worst:.2f} "
          f"({'within 10 % of joblib or better' if worst <= 1.10 else 'more than 10 % slower'})")


if __name__ == "__main__":
    main()
