"""``DataFrame.corr()`` (Pearson, pairwise complete) computed as pandas computes it, on both cores.

pandas' ``nancorr`` (``pandas/_libs/algos.pyx``) runs, for every pair of columns, one Welford pass over the rows both
have: ``dx = vx - meanx``, ``meanx += 1. / nobs * dx``, ``ssqdmx += (vx - meanx) * dx``, ``covxy += (vx - meanx) *
dy`` ..., then ``covxy / sqrt(ssqdmx * ssqdmy)`` clipped to [-1, 1]. Each pass is a chain of dependent additions, so one pair at a
time leaves the core mostly waiting (notebook 01's 205 IDPs x 20,688 participants: ~1.4 s). For a table without
missing values (the residualised IDPs of notebooks 01 and 02), each thread here runs four pairs' passes side by
side, the same operations in the same order for each pair, so every coefficient is pandas' to the bit (tested);
pairs are split over the cores by column. A table with missing values goes to pandas itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit, prange


@njit(cache=True, nogil=True)
def _pair4(mat, inv, xi, y0, y1, y2, y3, out):
    """Four pairs (xi, y0..y3) side by side, every row complete: pandas' Welford pass for each."""
    N = mat.shape[0]
    mx0 = mx1 = mx2 = mx3 = 0.0
    my0 = my1 = my2 = my3 = 0.0
    sx0 = sx1 = sx2 = sx3 = 0.0
    sy0 = sy1 = sy2 = sy3 = 0.0
    c0 = c1 = c2 = c3 = 0.0
    for i in range(N):
        w = inv[i + 1]
        vx = mat[i, xi]
        v0 = mat[i, y0]
        v1 = mat[i, y1]
        v2 = mat[i, y2]
        v3 = mat[i, y3]
        dx0 = vx - mx0
        dx1 = vx - mx1
        dx2 = vx - mx2
        dx3 = vx - mx3
        d0 = v0 - my0
        d1 = v1 - my1
        d2 = v2 - my2
        d3 = v3 - my3
        mx0 += w * dx0
        mx1 += w * dx1
        mx2 += w * dx2
        mx3 += w * dx3
        my0 += w * d0
        my1 += w * d1
        my2 += w * d2
        my3 += w * d3
        sx0 += (vx - mx0) * dx0
        sx1 += (vx - mx1) * dx1
        sx2 += (vx - mx2) * dx2
        sx3 += (vx - mx3) * dx3
        sy0 += (v0 - my0) * d0
        sy1 += (v1 - my1) * d1
        sy2 += (v2 - my2) * d2
        sy3 += (v3 - my3) * d3
        c0 += (vx - mx0) * d0
        c1 += (vx - mx1) * d1
        c2 += (vx - mx2) * d2
        c3 += (vx - mx3) * d3
    ys = (y0, y1, y2, y3)
    sxs = (sx0, sx1, sx2, sx3)
    sys_ = (sy0, sy1, sy2, sy3)
    cs = (c0, c1, c2, c3)
    for k in range(4):
        divisor = np.sqrt(sxs[k] * sys_[k])
        r = cs[k] / divisor if divisor != 0 else np.nan
        if r > 1.0:  # pandas >= 2.3 clips rounding past +-1 (pandas-dev/pandas#61154)
            r = 1.0
        elif r < -1.0:
            r = -1.0
        out[xi, ys[k]] = r
        out[ys[k], xi] = r


@njit(cache=True, nogil=True, parallel=True)
def _nancorr_complete(mat, inv):
    K = mat.shape[1]
    out = np.empty((K, K))
    for j in prange(K):
        xi = np.int64(j)  # prange's index is unsigned: mixed with signed ones numba would go to floats
        # pairs (xi, 0..xi) four at a time; the last group repeats its final column (computed twice, same value)
        for y in range(0, xi + 1, 4):
            _pair4(mat, inv, xi, y, min(y + 1, xi), min(y + 2, xi), min(y + 3, xi), out)
    return out


def corr(df: pd.DataFrame) -> pd.DataFrame:
    """``df.corr()`` for a frame of numeric columns: Pearson, pairwise complete observations, the same numbers."""
    mat = df.to_numpy(dtype=float, na_value=np.nan)
    if len(mat) < 1 or not np.isfinite(mat).all():
        return df.corr()  # missing values: pandas itself (pairwise complete rows)
    inv = np.empty(len(mat) + 1)
    inv[0] = np.nan
    inv[1:] = 1.0 / np.arange(1, len(mat) + 1, dtype=np.float64)  # 1. / nobs, as pandas divides
    r = _nancorr_complete(np.asfortranarray(mat), inv)  # columns contiguous: five streams per group
    return pd.DataFrame(r, index=df.columns.copy(), columns=df.columns.copy())
