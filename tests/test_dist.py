"""il6repro._dist equals scipy.stats to the last bit, edge values included, and does not import scipy.stats."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from il6repro import _dist

_EDGE = np.array([0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 1e-12, 0.5, 1 - 1e-16, 37.5, -37.5, 40.0, 1e300, -1e300,
                  np.inf, -np.inf, np.nan])


def _grid(seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([_EDGE, rng.standard_normal(2000) * 5, rng.standard_cauchy(500), rng.uniform(size=500)])


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)  # NaN where NaN, equal bits elsewhere (0.0 == -0.0 aside)


@pytest.mark.parametrize("name", ["sf", "cdf", "ppf", "isf", "pdf"])
def test_normal(name):
    x = _grid()
    ours, theirs = getattr(_dist, f"norm_{name}"), getattr(stats.norm, name)
    _same(ours(x), theirs(x))
    for v in (0.3, -2.0, 0.0, np.inf, np.nan, 3):
        assert type(ours(v)) is type(theirs(v)) and (np.isnan(ours(v)) and np.isnan(theirs(v)) or ours(v) == theirs(v))


@pytest.mark.parametrize("df", [1, 2.5, 20664, 1e9, 0, -3, np.inf, np.nan])
def test_student_t(df):
    x = _grid(1)
    with np.errstate(all="ignore"):
        _same(_dist.t_sf(x, df), stats.t.sf(x, df))
        q = np.concatenate([[0.0, 1.0, 0.5, 0.975, 0.025, 1e-300, -0.1, 1.1, np.nan], np.random.default_rng(2).uniform(size=300)])
        _same(_dist.t_ppf(q, df), stats.t.ppf(q, df))


def test_student_t_df_arrays():
    rng = np.random.default_rng(3)
    x, df = rng.standard_normal(400) * 4, rng.choice([1.0, 3.0, 50.0, 0.0, -1.0], 400)
    _same(_dist.t_sf(x, df), stats.t.sf(x, df))


@pytest.mark.parametrize("df", [1, 2, 4, 78, 0.5, 0, -1])
def test_chi_squared(df):
    x = np.abs(_grid(4)) * np.where(np.arange(len(_grid(4))) % 3 == 0, -1, 1)
    _same(_dist.chi2_sf(x, df), stats.chi2.sf(x, df))


def test_no_scipy_stats_import():
    code = "import sys; import il6repro._dist as d; d.t_sf(1.0, 3); print('scipy.stats' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
