# SPDX-License-Identifier: LGPL-2.1-or-later
"""The computation of the analysis app: a parameter sweep of a polynomial
ridge regression, scored by k-fold cross-validation.

A module of its own so that joblib_glib's process workers import the task
function by name (``joblib_glib_analysis.sweep.cv_error``) and the cache
keys on a stable identity.
"""

import csv

import numpy as np

DEGREES = tuple(range(1, 11))
ALPHAS = tuple(float(a) for a in np.logspace(-6, 2, 9))
FOLDS = 5


def generate(n_points=400, seed=0, noise=0.25):
    """Noisy samples of a smooth curve, sorted by x."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, n_points))
    y = np.sin(x) + 0.3 * x + rng.normal(0.0, noise, n_points)
    return x, y


def read_csv(path):
    """The first two numeric columns of a CSV file (a header line is skipped).

    Raises ValueError when fewer than 2 columns or 10 rows of numbers are found.
    """
    xs, ys = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            try:
                x, y = float(row[0]), float(row[1])
            except (ValueError, IndexError):
                continue
            xs.append(x)
            ys.append(y)
    if len(xs) < 10:
        raise ValueError(f"{path}: fewer than 10 rows with two numeric columns")
    order = np.argsort(xs)
    return np.asarray(xs)[order], np.asarray(ys)[order]


def _design(x, degree, center, scale):
    return np.vander((x - center) / scale, degree + 1, increasing=True)


def fit(x, y, degree, alpha):
    """Ridge fit of a polynomial: the coefficients and the scaling used."""
    center, scale = float(np.mean(x)), float(np.std(x)) or 1.0
    design = _design(x, degree, center, scale)
    gram = design.T @ design + alpha * np.eye(degree + 1)
    return np.linalg.solve(gram, design.T @ y), center, scale


def predict(model, x):
    coefficients, center, scale = model
    return _design(x, len(coefficients) - 1, center, scale) @ coefficients


def cv_error(x, y, degree, alpha, folds=FOLDS):
    """Mean squared validation error of ``fit`` over ``folds`` folds."""
    index = np.arange(len(x))
    errors = []
    for fold in range(folds):
        test = index % folds == fold
        model = fit(x[~test], y[~test], degree, alpha)
        errors.append(float(np.mean((predict(model, x[test]) - y[test]) ** 2)))
    return float(np.mean(errors))


def grid():
    """The (degree, alpha) pairs of the sweep, in the order of the results."""
    return [(degree, alpha) for degree in DEGREES for alpha in ALPHAS]


def best(errors):
    """(degree, alpha, error) of the smallest error of a sweep's results."""
    i = int(np.argmin(errors))
    degree, alpha = grid()[i]
    return degree, alpha, errors[i]
