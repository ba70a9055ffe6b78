"""Compiled (numba) kernels of the bootstrap estimators: weighted median and mode-based estimate, row by row.

Each kernel computes one estimate per row of a ``(rows, J)`` problem with O(J) scratch memory, releases the GIL,
and is called on chunks of rows from a thread pool (:func:`il6repro.genetics.mr._in_chunks`), so memory stays
bounded whatever the number of rows. The bootstrap kernels (``*_boot``) form each draw on the fly from shared
standard-normal draws ``Z`` and the per-outcome statistics, so no ``draws x outcomes x J`` array is ever built.

- Weighted median (Bowden et al. 2016, as R's ``weighted.median`` of MendelianRandomization / TwoSampleMR): the
  interpolated point where the cumulative weight (minus half the own weight) crosses one half, found by weighted
  quickselect (expected O(J), no full sort); ties ordered by position, as R's stable ``order()``.
- Mode (Hartwig et al. 2017, as the ``beta()`` helper of TwoSampleMR's ``mr_mode`` / MendelianRandomization's
  ``mr_mbe``): bandwidth ``max(1e-8, phi * 0.9 min(sd, mad) / J^(1/5))`` and R's ``density(x, weights, bw)``
  (R 4.2: 512 points, ``cut = 3``; linear binning of the data on 512 points over ``[from - 4 bw, to + 4 bw]``
  (``BinDist``), convolution with the Gaussian kernel sampled on R's ``2n`` grid ``seq(0, 2 (up - lo),
  length.out = 1024)``, linear interpolation onto ``seq(from, to, length.out = 512)``), the first grid point of
  highest density. R convolves by FFT; here the same sum is taken directly over the occupied bins (kernel
  terms below 1e-21 of its peak dropped), which equals R's result to rounding. The reference implementation, a
  line-by-line numpy port of R's code, is :func:`il6repro.genetics.mr.r_density`; tests check the two agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_OPTS = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")
_INV_SQRT_2PI = 0.398942280401432677939946059934  # M_1_SQRT_2PI
NGRID = 512  # R density()'s n


@njit(**_OPTS)
def rseq(a: float, b: float, n: int, i: int) -> float:
    """Element ``i`` of R's ``seq.int(a, b, length.out = n)`` (R computes the upper half from ``b`` down)."""
    if i == 0:
        return a
    if i == n - 1:
        return b
    by = (b - a) / (n - 1)
    if i < n // 2:
        return a + i * by
    return b - (n - 1 - i) * by


@njit(**_OPTS)
def _rs(a: float, b: float, by: float, n: int, i: int) -> float:
    """:func:`rseq` with the step ``by = (b - a) / (n - 1)`` precomputed."""
    if i == 0:
        return a
    if i == n - 1:
        return b
    if i < n // 2:
        return a + i * by
    return b - (n - 1 - i) * by


@njit(**_OPTS)
def _less(v, a, b):
    return v[a] < v[b] or (v[a] == v[b] and a < b)


@njit(**_OPTS)
def wmedian(v, w, idx):
    """Interpolated weighted median of ``v`` with weights ``w`` (``idx``: int scratch of the same length)."""
    n = v.shape[0]
    tot = 0.0
    for j in range(n):
        idx[j] = j
        tot += w[j]
    lo, hi = 0, n
    sbase = 0.0
    best, sbest = 0, 0.0
    while hi > lo:
        # pivot: median of three (by key), moved to the end
        m = (lo + hi - 1) // 2
        a, b, c = idx[lo], idx[m], idx[hi - 1]
        if _less(v, a, b):
            p = b if _less(v, b, c) else (c if _less(v, a, c) else a)
        else:
            p = a if _less(v, a, c) else (c if _less(v, b, c) else b)
        for k in range(lo, hi):
            if idx[k] == p:
                idx[k] = idx[hi - 1]
                idx[hi - 1] = p
                break
        i = lo
        sl = 0.0
        for k in range(lo, hi - 1):
            e = idx[k]
            if _less(v, e, p):
                idx[k] = idx[i]
                idx[i] = e
                i += 1
                sl += w[e]
        idx[hi - 1] = idx[i]
        idx[i] = p
        if 2.0 * (sbase + sl) + w[p] < tot:  # cumulative weight at p (minus half its own) below one half
            best, sbest = p, sbase + sl
            sbase = sbase + sl + w[p]
            lo = i + 1
        else:
            hi = i
    nxt = -1
    for j in range(n):
        if _less(v, best, j) and (nxt < 0 or _less(v, j, nxt)):
            nxt = j
    c0 = (sbest + w[best] - 0.5 * w[best]) / tot
    c1 = (sbest + w[best] + w[nxt] - 0.5 * w[nxt]) / tot
    return v[best] + (v[nxt] - v[best]) * (0.5 - c0) / (c1 - c0)


@njit(**_OPTS)
def _kth(buf, n, k):
    """k-th smallest (0-based) of buf[:n], partially reordering buf (Hoare quickselect)."""
    lo, hi = 0, n - 1
    while hi > lo:
        pv = buf[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while buf[i] < pv:
                i += 1
            while buf[j] > pv:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return buf[k]


@njit(**_OPTS)
def _median(buf, n):
    """R's median of buf[:n] (mean of the two middle values when n is even); reorders buf."""
    half = n // 2
    hi = _kth(buf, n, half)
    if n % 2 == 1:
        return hi
    lo = buf[0]
    for j in range(1, half):
        if buf[j] > lo:
            lo = buf[j]
    return (lo + hi) / 2.0


@njit(**_OPTS)
def bandwidth(x, phi, buf):
    """Hartwig's bandwidth ``max(1e-8, phi * 0.9 * min(sd, mad) / n^(1/5))`` (R's sd and mad)."""
    n = x.shape[0]
    s = 0.0
    for j in range(n):
        s += x[j]
    mean = s / n
    t = 0.0
    for j in range(n):
        t += x[j] - mean
    mean += t / n  # R's mean(): second pass correction
    ss = 0.0
    for j in range(n):
        d = x[j] - mean
        ss += d * d
    sd = math.sqrt(ss / (n - 1))
    for j in range(n):
        buf[j] = x[j]
    med = _median(buf, n)
    for j in range(n):
        buf[j] = abs(x[j] - med)
    mad = 1.4826 * _median(buf, n)
    return max(1e-8, 0.9 * min(sd, mad) / n ** 0.2 * phi)


@njit(**_OPTS)
def bandwidth_sorted(xs, phi):
    """:func:`bandwidth` of sorted values in O(n): median and MAD by a merge walk of the deviations."""
    n = xs.shape[0]
    s = 0.0
    for j in range(n):
        s += xs[j]
    mean = s / n
    t = 0.0
    for j in range(n):
        t += xs[j] - mean
    mean += t / n
    ss = 0.0
    for j in range(n):
        d = xs[j] - mean
        ss += d * d
    sd = math.sqrt(ss / (n - 1))
    half = n // 2
    med = xs[half] if n % 2 == 1 else (xs[half - 1] + xs[half]) / 2.0
    i, j = half - 1, half  # deviations med - xs[i] (i downwards) and xs[j] - med (j upwards), each ascending
    prev = cur = 0.0
    for _ in range(half + 1):
        prev = cur
        if j >= n or (i >= 0 and med - xs[i] <= xs[j] - med):
            cur = med - xs[i]
            i -= 1
        else:
            cur = xs[j] - med
            j += 1
    mad = 1.4826 * (cur if n % 2 == 1 else (prev + cur) / 2.0)
    return max(1e-8, 0.9 * min(sd, mad) / n ** 0.2 * phi)


@njit(**_OPTS)
def density_mode(x, w, phi, buf, ybin, gs, conv, coarse):
    """Mode of R's ``density(x, weights = w / sum(w), bw = h)`` with Hartwig's ``h`` (see module docstring).

    Scratch: ``buf`` (len(x)), ``ybin`` (512), ``gs`` (1023), ``conv`` (512), ``coarse`` (512).
    """
    return _density_mode(x, w, bandwidth(x, phi, buf), ybin, gs, conv, coarse)


@njit(**_OPTS)
def density_mode_sorted(x, xs, w, phi, ybin, gs, conv, coarse):
    """:func:`density_mode` given ``xs``, the values of ``x`` sorted (the bandwidth then costs O(n))."""
    return _density_mode(x, w, bandwidth_sorted(xs, phi), ybin, gs, conv, coarse)


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _dot(a, b):
    """Sum of a * b (vectorised: the summation order is free, the terms are non-negative)."""
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(**_OPTS)
def _conv_at(ybin, gs, k, mlo, mhi, L):
    """The binned density at knot k: sum over occupied bins m within L of ybin[m] * kernel(|m - k|) (the
    kernel table ``gs`` is symmetric, so gs[ng - 1 + m - k] runs forward with m)."""
    m0 = max(mlo, k - L)
    m1 = min(mhi, k + L)
    if m1 < m0:
        return 0.0
    off = NGRID - 1 - k
    return _dot(ybin[m0:m1 + 1], gs[off + m0:off + m1 + 1])


@njit(**_OPTS)
def _density_mode(x, w, h, ybin, gs, conv, coarse):
    n = x.shape[0]
    wt = 0.0
    xmin, xmax = x[0], x[0]
    for j in range(n):
        wt += w[j]
        if x[j] < xmin:
            xmin = x[j]
        if x[j] > xmax:
            xmax = x[j]
    frm = xmin - 3.0 * h
    to = xmax + 3.0 * h
    lo = frm - 4.0 * h
    up = to + 4.0 * h
    ng = NGRID
    # BinDist: linear binning on ng points over [lo, up]
    for k in range(ng):
        ybin[k] = 0.0
        conv[k] = 0.0
    xdelta = (up - lo) / (ng - 1)
    for j in range(n):
        xpos = (x[j] - lo) / xdelta
        ix = int(math.floor(xpos))
        fx = xpos - ix
        wj = w[j] / wt
        if 0 <= ix <= ng - 2:
            ybin[ix] += wj * (1.0 - fx)
            ybin[ix + 1] += wj * fx
        elif ix == -1:
            ybin[0] += wj * fx
        elif ix == ng - 1:
            ybin[ix] += wj * (1.0 - fx)
    # occupied bins: the density increases towards them from outside, so its maximum lies within
    mlo, mhi = ng - 1, 0
    for m in range(ng):
        if ybin[m] != 0.0:
            mlo = min(mlo, m)
            mhi = max(mhi, m)
    klo, khi = max(0, mlo - 1), min(ng - 1, mhi + 1)
    # kernel dnorm(kords, sd = h), kords = seq(0, 2 (up - lo), length.out = 2 ng); gs[ng - 1 + d] = kernel(|d|)
    # up to L = 10 kernel SDs (beyond, terms are below 2e-22 of the peak) or the width of the occupied span
    kby = 2.0 * (up - lo) / (2 * ng - 1)
    sig = h / kby  # kernel SD in knots
    st = int(sig / 3.0)  # stride of the coarse pass (none below 3)
    L = min(ng - 1, khi - klo + st, int(math.ceil(10.0 * sig)) + 1)
    # (exp(-a d^2) by the recurrence g(d+1) = g(d) exp(-a (2d+1)), restarted exactly every 16 steps)
    a = 0.5 * (kby / h) ** 2
    q = math.exp(-2.0 * a)
    c0 = _INV_SQRT_2PI / h
    g, r = c0, 1.0
    for d in range(L + 1):
        if d % 16 == 0:
            g = c0 * math.exp(-a * d * d)
            r = math.exp(-a * (2 * d + 1))
        gs[ng - 1 + d] = g
        gs[ng - 1 - d] = g
        g *= r
        r *= q
    if st < 3 or khi - klo < 8 * st:
        for k in range(klo, khi + 1):
            conv[k] = _conv_at(ybin, gs, k, mlo, mhi, L)
    else:
        # exact values at the knots klo + st K (the last one at or past khi); between two of them the density
        # exceeds the higher value by at most M st^2 / 8 (M = g0 / sig^2 bounds its negative curvature, total
        # mass 1), and the maximum (and any interpolated point that can be selected) is within M of the highest:
        # only intervals that can reach that level are then computed in full; the other knots stay 0 and can
        # never be selected
        nk = (khi - klo + st - 1) // st + 1
        lb = 0.0
        for kk in range(nk):
            coarse[kk] = _conv_at(ybin, gs, klo + kk * st, mlo, mhi, L)
            lb = max(lb, coarse[kk])
        curv = _INV_SQRT_2PI / h / (sig * sig) * (1.0 + 1e-9)
        thr = lb - curv - curv * st * st / 8.0 - 1e-9 * lb
        a = -1
        for kk in range(nk - 1):
            k0 = klo + kk * st
            k1 = min(k0 + st, khi)
            keep = max(coarse[kk], coarse[kk + 1]) >= thr
            if keep and a < 0:
                a = max(klo, k0 - 1)
            if a >= 0 and (not keep or k1 == khi):
                b = min(khi, (k1 if keep else k0) + 1)
                for k in range(a, b + 1):
                    conv[k] = _conv_at(ybin, gs, k, mlo, mhi, L)
                a = -1
    # highest knot, then the interpolated values near it, then any segment that could still reach them
    kmax = klo
    for k in range(klo + 1, khi + 1):
        if conv[k] > conv[kmax]:
            kmax = k
    dx = (to - frm) / (ng - 1)
    best_v, best_i = -1.0, ng
    for rep in range(2):
        thr = best_v
        ka, kb = (max(0, kmax - 1), min(ng - 2, kmax)) if rep == 0 else (max(0, klo - 1), min(ng - 2, khi))
        for k in range(ka, kb + 1):
            if rep == 1 and max(conv[k], conv[k + 1]) < thr:
                continue
            xa = _rs(lo, up, xdelta, ng, k)
            xb = _rs(lo, up, xdelta, ng, k + 1)
            i0 = max(0, int(math.floor((xa - frm) / dx)) - 1)
            i1 = min(ng - 1, int(math.ceil((xb - frm) / dx)) + 1)
            for i in range(i0, i1 + 1):
                xv = _rs(frm, to, dx, ng, i)
                # R's approx(): the knot interval holding xv, exact-knot values returned as is
                kk = min(max(int((xv - lo) / xdelta), 0), ng - 2)
                while kk > 0 and _rs(lo, up, xdelta, ng, kk) > xv:
                    kk -= 1
                while kk < ng - 2 and _rs(lo, up, xdelta, ng, kk + 1) <= xv:
                    kk += 1
                xl = _rs(lo, up, xdelta, ng, kk)
                xr = _rs(lo, up, xdelta, ng, kk + 1)
                if xv == xr:
                    val = conv[kk + 1]
                elif xv == xl:
                    val = conv[kk]
                else:
                    val = conv[kk] + (conv[kk + 1] - conv[kk]) * ((xv - xl) / (xr - xl))
                if val > best_v or (val == best_v and i < best_i):
                    best_v, best_i = val, i
    return rseq(frm, to, ng, best_i)


@njit(**_OPTS)
def mode_rows(X, W, phi, out, r0, r1):
    """``out[r] = density_mode(X[r], W[r])`` for rows ``r0 <= r < r1``."""
    buf = np.empty(X.shape[1])
    ybin, gs, conv, coarse = np.empty(NGRID), np.zeros(2 * NGRID - 1), np.zeros(NGRID), np.empty(NGRID)
    for r in range(r0, r1):
        out[r] = density_mode(X[r], W[r], phi, buf, ybin, gs, conv, coarse)


@njit(**_OPTS)
def mode_sorted_rows(X, XS, w, phi, out):
    """``out[b] = density_mode(X[b], w)`` for every row, given ``XS`` = ``X`` sorted along rows (one outcome's
    bootstrap draws: the weights are shared)."""
    ybin, gs, conv, coarse = np.empty(NGRID), np.zeros(2 * NGRID - 1), np.zeros(NGRID), np.empty(NGRID)
    for b in range(X.shape[0]):
        out[b] = density_mode_sorted(X[b], XS[b], w, phi, ybin, gs, conv, coarse)


@njit(**_OPTS)
def wmedian_rows(X, W, out, r0, r1):
    """``out[r] = wmedian(X[r], W[r])`` for rows ``r0 <= r < r1``."""
    idx = np.empty(X.shape[1], np.int64)
    for r in range(r0, r1):
        out[r] = wmedian(X[r], W[r], idx)


@njit(**_OPTS)
def wmedian_packed_rows(X, KEYS, w, mask, out):
    """Weighted median of every row of ``X`` (weights ``w``, shared), given ``KEYS``: the rows' float64 bit
    patterns (as int64) with the column index in the low bits (``mask``), sorted as floats. R's ``weighted.median``
    arithmetic in sorted order (cumulative sum, minus half the own weight, interpolation at one half)."""
    n = X.shape[1]
    for b in range(X.shape[0]):
        tot = 0.0
        for i in range(n):
            tot += w[KEYS[b, i] & mask]
        cs = 0.0
        prev_c, prev_j = 0.0, 0
        for i in range(n):
            j = KEYS[b, i] & mask
            cs += w[j]
            c = (cs - 0.5 * w[j]) / tot
            if c >= 0.5:
                out[b] = X[b, prev_j] + (X[b, j] - X[b, prev_j]) * (0.5 - prev_c) / (c - prev_c)
                break
            prev_c, prev_j = c, j
