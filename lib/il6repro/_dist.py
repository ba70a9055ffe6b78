"""The normal, Student t and chi-squared tail functions the pipeline uses, from :mod:`scipy.special`.

``scipy.stats`` computes each of these by the very ``scipy.special`` function called here (``norm.sf(x)`` is
``ndtr(-x)``, ``t.sf(x, df)`` is ``stdtr(df, -x)``, ``chi2.sf(x, df)`` is ``chdtrc(df, x)``, ...), after argument
checks that these functions reproduce (a degree of freedom that is not positive gives NaN). Importing
``scipy.stats`` costs about half a second (it loads most of SciPy); the notebooks that need nothing else from it
(the MR scan, the cohort fits, the ledger) are spared it. ``tests/test_dist.py`` checks each function equal to
``scipy.stats`` to the last bit over grids with the edge values (0, 1, infinities, NaN, df not positive).
"""

from __future__ import annotations

import numpy as np
from scipy import special

_SQRT_2PI = np.sqrt(2 * np.pi)


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``."""
    return special.ndtr(-np.asarray(x, dtype=float))[()]


def norm_cdf(x):
    """``scipy.stats.norm.cdf(x)``."""
    return special.ndtr(np.asarray(x, dtype=float))[()]


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)`` (NaN outside [0, 1])."""
    return special.ndtri(np.asarray(q, dtype=float))[()]


def norm_isf(q):
    """``scipy.stats.norm.isf(q)`` (NaN outside [0, 1])."""
    return (-special.ndtri(np.asarray(q, dtype=float)))[()]


def norm_pdf(x):
    """``scipy.stats.norm.pdf(x)``."""
    x = np.asarray(x, dtype=float)
    return (np.exp(-x ** 2 / 2.0) / _SQRT_2PI)[()]


def _bad_df(df, out):
    df = np.asarray(df)
    if np.any(~(df > 0)):
        out = np.array(out, dtype=float, copy=True)
        out[np.broadcast_to(~(df > 0), out.shape)] = np.nan
    return out


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)`` (NaN where ``df`` is not positive)."""
    x = np.asarray(x, dtype=float)
    return _bad_df(df, special.stdtr(df, -x))[()]


def t_ppf(q, df):
    """``scipy.stats.t.ppf(q, df)`` (NaN outside [0, 1] or where ``df`` is not positive)."""
    q = np.asarray(q, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.where(q == 0, -np.inf, np.where(q == 1, np.inf, special.stdtrit(df, q)))
    return _bad_df(df, np.where((q < 0) | (q > 1), np.nan, out))[()]


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)`` (1 at or below 0, NaN where ``df`` is not positive)."""
    x = np.asarray(x, dtype=float)
    out = np.where(x <= 0, 1.0, special.chdtrc(df, np.maximum(x, 0)))
    return _bad_df(df, np.where(np.isnan(x), np.nan, out))[()]
