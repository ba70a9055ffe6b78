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
  terms below 1e-21 of its peak dropped), which equals R's result to rounding, and only at the knots that can
  hold the maximum: a branch and bound over knot intervals (value and derivative every 1.5 kernel SDs, the
  kernel truncated at 4 SDs with the error bounded, intervals pruned by the cubic-Hermite bound with its
  fourth-derivative remainder or a curvature bound, against a value some output point certainly reaches), then
  every knot that can be selected, and its neighbours, in full. The pruning is exact (provable bounds, no
  heuristics): the selected grid point is the one the full convolution selects (exact ties, e.g. two
  mirror-image clusters, are decided by rounding, here as in R). Rounding differs from R's in three places,
  each below 1e-13 relative: the kernel table is built by chained products (five exponentials per draw), the
  bootstrap's bandwidth sums are vectorised, and ``0.9 phi / n^(1/5)`` is computed once per outcome; the
  selected point can then differ from R's only where two grid values tie to that precision. The reference implementation, a
  line-by-line numpy port of R's code, is :func:`il6repro.genetics.mr.r_density`; tests check the two agree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_OPTS = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")
_INV_SQRT_2PI = 0.398942280401432677939946059934  # M_1_SQRT_2PI
NGRID = 512  # R density()'s n
TRUNC = 4.0  # the mode's search: kernel truncated at TRUNC SDs (exact values at the end)


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


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _sum_dev(X, b, c):
    """Sum of X[b] - c (vectorised: the summation order is free; R sums in order, which differs by rounding)."""
    s = 0.0
    for j in range(X.shape[1]):
        s += X[b, j] - c
    return s


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _sum_sq(X, b, c):
    """Sum of (X[b] - c)^2 (vectorised)."""
    s = 0.0
    for j in range(X.shape[1]):
        d = X[b, j] - c
        s += d * d
    return s


@njit(**_OPTS)
def _dev_kth(XS, b, med, half, k):
    """The k-th smallest (1-based) of the absolute deviations |xs - med| of sorted ``xs = XS[b]`` (``med`` = its
    median, ``half`` = n // 2): the deviations are two ascending runs, A[i] = med - XS[b, half - 1 - i] (i < half) and
    B[j] = xs[half + j] - med; the k-th of their union by bisection on the number taken from A."""
    n = XS.shape[1]
    na, nb = half, n - half
    ilo, ihi = max(0, k - nb), min(k, na)
    while ilo < ihi:
        i = (ilo + ihi) // 2  # take i from A, k - i from B: too few from A if A[i] < B[k - i - 1]
        if med - XS[b, half - 1 - i] < XS[b, half + k - i - 1] - med:
            ilo = i + 1
        else:
            ihi = i
    i = ilo
    va = med - XS[b, half - i] if i > 0 else -1.0
    vb = XS[b, half + k - i - 1] - med if k - i > 0 else -1.0
    return max(va, vb)


@njit(**_OPTS)
def bandwidth_sorted(XS, b, fac):
    """:func:`bandwidth` of the sorted values ``XS[b]`` in O(n), given ``fac = 0.9 phi / n^(1/5)``: median and MAD by
    bisection over the two ascending runs of deviations, the sums vectorised (equal to R's to rounding)."""
    n = XS.shape[1]
    mean = _sum_dev(XS, b, 0.0) / n
    mean += _sum_dev(XS, b, mean) / n  # R's mean(): second pass correction
    sd = math.sqrt(_sum_sq(XS, b, mean) / (n - 1))
    half = n // 2
    med = XS[b, half] if n % 2 == 1 else (XS[b, half - 1] + XS[b, half]) / 2.0
    if n % 2 == 1:
        mad = 1.4826 * _dev_kth(XS, b, med, half, half + 1)
    else:
        mad = 1.4826 * ((_dev_kth(XS, b, med, half, half) + _dev_kth(XS, b, med, half, half + 1)) / 2.0)
    return max(1e-8, min(sd, mad) * fac)


@njit(**_OPTS)
def _normalise(w, out):
    """``out = w / sum(w)`` (the sum in order)."""
    wt = 0.0
    for j in range(w.shape[0]):
        wt += w[j]
    for j in range(w.shape[0]):
        out[j] = w[j] / wt


@njit(**_OPTS)
def mode_scratch():
    """Scratch of :func:`_density_mode`: rows ybin, conv, dconv (``NGRID`` each), the kernel and its derivative
    (``2 NGRID - 1`` each), the state of each knot, the interval stack and the list of computed knots."""
    return (np.zeros((3, NGRID)), np.zeros((2, 2 * NGRID - 1)), np.zeros(NGRID, np.int8),
            np.empty(2 * NGRID + 8, np.int64), np.empty(NGRID, np.int64))


@njit(**_OPTS)
def _kernel_table(gs, a, c0, L):
    """gs[ng - 1 + d] = gs[ng - 1 - d] = c0 exp(-a d^2) for 0 <= d <= L, by the recurrence g(d + 1) = g(d) r(d),
    r(d) = exp(-a (2 d + 1)), r(d + 1) = r(d) q, q = exp(-2 a), restarted every 16 steps from values carried by
    their own recurrences over blocks of 16 (E(i) = exp(-256 a i^2): E(i + 1) = E(i) P(i), P(i) = exp(-a (512 i
    + 256)), P(i + 1) = P(i) exp(-512 a); R(i) = exp(-a (32 i + 1)): R(i + 1) = R(i) exp(-32 a)): five
    exponentials per table instead of two per 16 entries, relative error below 1e-13 (at most 32 + 16 chained
    products; tested); no value is subnormal (the kernel's L <= 10 SDs + 1). Indices unsigned: a signed index
    loop compiles with the wraparound of negative indices."""
    q = math.exp(-2.0 * a)
    E, P, R = c0, math.exp(-256.0 * a), math.exp(-a)
    p512, r32 = math.exp(-512.0 * a), math.exp(-32.0 * a)
    g, r = c0, R
    mid = np.uint64(NGRID - 1)
    for d in range(np.uint64(L + 1)):
        if d % 16 == 0 and d > 0:
            E *= P
            P *= p512
            R *= r32
            g, r = E, R
        gs[mid + d] = g
        gs[mid - d] = g
        g *= r
        r *= q


@njit(**_OPTS)
def _fill(a, i0, i1, v):
    """a[i] = v for i0 <= i <= i1, with unsigned indices: a signed index loop is compiled with the wraparound of
    negative indices, into scatter instructions or byte-by-byte stores instead of a fill."""
    j0 = np.uint64(i0)
    for i in range(np.uint64(max(i1 - i0 + 1, 0))):
        a[j0 + i] = v


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _dot(a, b, m0, m1, off):
    """Sum of a[m] * b[off + m] over m0 <= m <= m1 (vectorised: the summation order is free). Whole arrays and
    index bounds, not slices: a slice costs two atomic reference-count updates per call."""
    acc = 0.0
    i0 = np.uint64(m0)
    j0 = np.uint64(off + m0)
    for i in range(np.uint64(max(m1 - m0 + 1, 0))):
        acc += a[i0 + i] * b[j0 + i]
    return acc


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _dot2(a, b, c, m0, m1, off):
    """(sum of a[m] * b[off + m], sum of a[m] * c[off + m]) over m0 <= m <= m1, vectorised."""
    s0 = 0.0
    s1 = 0.0
    i0 = np.uint64(m0)
    j0 = np.uint64(off + m0)
    for i in range(np.uint64(max(m1 - m0 + 1, 0))):
        am = a[i0 + i]
        s0 += am * b[j0 + i]
        s1 += am * c[j0 + i]
    return s0, s1


@njit(**_OPTS)
def _val(ybin, gs, k, mlo, mhi, L):
    """The binned density at knot k: the sum over occupied bins m within L of ybin[m] * kernel(|m - k|) (the
    kernel table ``gs`` is symmetric, so gs[ng - 1 + m - k] runs forward with m)."""
    m0 = max(mlo, k - L)
    m1 = min(mhi, k + L)
    return _dot(ybin, gs, m0, m1, NGRID - 1 - k)


@njit(**_OPTS)
def _val2(ybin, gs, gd, k, mlo, mhi, L):
    """:func:`_val` and the derivative of the density at knot k (``gd``: the kernel's derivative table)."""
    m0 = max(mlo, k - L)
    m1 = min(mhi, k + L)
    return _dot2(ybin, gs, gd, m0, m1, NGRID - 1 - k)


@njit(nogil=True, cache=True, fastmath={"contract"})
def _deriv_table(gs, gd, a2, T):
    """gd[ng - 1 + d] = a2 d gs[ng - 1 + d] for |d| <= T (the kernel's derivative table; only the search, which
    stops at T, reads it)."""
    j0 = np.uint64(NGRID - 1 - T)
    for i in range(np.uint64(2 * T + 1)):
        gd[j0 + i] = a2 * (float(i) - T) * gs[j0 + i]


@njit(inline="always", **_OPTS)
def _hermite_max(fa, da, fb, db, s):
    """Maximum over [0, 1] of the cubic Hermite interpolant of (fa, da) and (fb, db) on an interval of length s,
    and where it is (fraction of the interval)."""
    da *= s
    db *= s
    c2 = -3.0 * fa - 2.0 * da + 3.0 * fb - db
    c3 = 2.0 * fa + da - 2.0 * fb + db
    if fa >= fb:
        best, at = fa, 0.0
    else:
        best, at = fb, 1.0
    A, B, C = 3.0 * c3, 2.0 * c2, da
    for j in range(2):
        u = -1.0
        if A != 0.0:
            disc = B * B - 4.0 * A * C
            if disc >= 0.0:
                r = math.sqrt(disc)
                u = (-B - r) / (2.0 * A) if j == 0 else (-B + r) / (2.0 * A)
        elif j == 0 and B != 0.0:
            u = -C / B
        if 0.0 < u < 1.0:
            v = fa + u * (da + u * (c2 + u * c3))
            if v > best:
                best, at = v, u
    return best, at


@njit(inline="always", **_OPTS)
def _interval_points(conv, k, lo, up, xdelta, frm, to, dx, best_v, best_i):
    """Update (best value, its index) with the output grid points that R's ``approx()`` interpolates between
    knots k and k + 1 (ties: the first index)."""
    ng = NGRID
    xa = _rs(lo, up, xdelta, ng, k)
    xb = _rs(lo, up, xdelta, ng, k + 1)
    i0 = max(0, int(math.floor((xa - frm) / dx)) - 1)
    i1 = min(ng - 1, int(math.ceil((xb - frm) / dx)) + 1)
    for i in range(i0, i1 + 1):
        xv = _rs(frm, to, dx, ng, i)
        # R's approx(): xv lies in knot interval k when knot k <= xv < knot k + 1 (output points lie strictly
        # inside [lo, up], so no end clamping applies); an exact knot's value is returned as is
        if xv < xa or xv >= xb:
            continue
        if xv == xa:
            val = conv[k]
        else:
            val = conv[k] + (conv[k + 1] - conv[k]) * ((xv - xa) / (xb - xa))
        if val > best_v or (val == best_v and i < best_i):
            best_v, best_i = val, i
    return best_v, best_i


@njit(**_OPTS)
def _density_mode(X, r, wn, xmin, xmax, h, ybin, conv, dconv, gs, gd, state, stack, comp, prune=True):
    """Mode of R's ``density(x, weights = wn, bw = h)``, ``x = X[r]`` (see the module docstring), with the
    scratch of :func:`mode_scratch` passed array by array (a tuple or a row slice per call costs atomic
    reference-count updates). ``prune=False`` convolves every knot (the reference for the pruned search)."""
    n = X.shape[1]
    frm = xmin - 3.0 * h
    to = xmax + 3.0 * h
    lo = frm - 4.0 * h
    up = to + 4.0 * h
    ng = NGRID
    # BinDist: linear binning on ng points over [lo, up]; only bins [blo, bhi] can be touched
    xdelta = (up - lo) / (ng - 1)
    blo = min(max(int(math.floor((xmin - lo) / xdelta)) - 1, 0), ng - 1)
    bhi = min(max(int(math.floor((xmax - lo) / xdelta)) + 2, 0), ng - 1)
    _fill(ybin, blo, bhi, 0.0)
    for j in range(n):
        xpos = (X[r, j] - lo) / xdelta
        ix = int(xpos)  # = floor: xpos >= 0 (x >= xmin > lo)
        fx = xpos - ix
        wj = wn[j]
        if 0 <= ix <= ng - 2:
            ybin[ix] += wj * (1.0 - fx)
            ybin[ix + 1] += wj * fx
        elif ix == -1:
            ybin[0] += wj * fx
        elif ix == ng - 1:
            ybin[ix] += wj * (1.0 - fx)
    # occupied bins: the density increases towards them from outside, so its maximum lies within
    mlo, mhi = blo, bhi
    while mlo < bhi and ybin[mlo] == 0.0:
        mlo += 1
    while mhi > mlo and ybin[mhi] == 0.0:
        mhi -= 1
    ysum = 1.0  # the total binned weight (sum of wn, all inside the grid), to rounding
    klo, khi = max(0, mlo - 1), min(ng - 1, mhi + 1)
    _fill(state, klo, khi, 0)
    # kernel dnorm(kords, sd = h), kords = seq(0, 2 (up - lo), length.out = 2 ng); gs[ng - 1 + d] = kernel(|d|)
    # up to L = 10 kernel SDs (beyond, terms are below 2e-22 of the peak) or the width of the occupied span;
    # gd[ng - 1 + d] = d kernel(d) / sig^2, the derivative of kernel(k - m) in k at d = m - k
    kby = 2.0 * (up - lo) / (2 * ng - 1)
    sig = h / kby  # kernel SD in knots
    L = min(ng - 1, khi - klo + 1, int(math.ceil(10.0 * sig)) + 1)
    a = 0.5 * (kby / h) ** 2
    c0 = _INV_SQRT_2PI / h
    _kernel_table(gs, a, c0, L)
    st = int(1.5 * sig)  # stride of the coarse pass
    nc = 0
    if not prune or st < 4 or khi - klo < 3 * st:
        for k in range(klo, khi + 1):
            if state[k] == 0:
                conv[k] = _val(ybin, gs, k, mlo, mhi, L)
                state[k] = 1
                comp[nc] = k
                nc += 1
        v0 = -1.0
    else:
        T = min(L, int(math.ceil(TRUNC * sig)) + 1)
        _deriv_table(gs, gd, 2.0 * a, T)
        # Branch and bound (knot units; f = the density as a sum of Gaussians of SD sig with total mass ysum):
        # value and derivative at coarse knots every st; on an interval [a, b] of length s, f is at most the
        # maximum of the cubic Hermite interpolant of its ends plus max|f| s^4 / 384 (|f| <= 3 c0
        # ysum / sig^4), and at most the higher end plus max|f''| s^2 / 8 (|f''| <= c0 ysum / sig^2). Every
        # output point (interpolated between two knots) that can be selected has a value >= v0, the best value
        # certified so far (the lower of two adjacent computed knots); an interval whose bound is below v0 has
        # no knot that can matter; the others are halved until short, then computed knot by knot.
        e4 = 3.0 * c0 * ysum / (384.0 * sig ** 4) * (1.0 + 1e-9)
        e2 = c0 * ysum / (8.0 * sig * sig) * (1.0 + 1e-9)
        slack = 1e-9 * c0
        # the search itself uses the kernel truncated at T = TRUNC kernel SDs (state 3: value and derivative
        # short of the full sums by at most ef and ed: the dropped terms, at |d| >= T + 1 >= sig, are each at
        # most kernel(T + 1), resp. |kernel'(T + 1)|, and their weights sum to ysum); truncated values are lower
        # bounds (every term is >= 0), so they still certify v0; every knot that can be selected, and its
        # neighbours, is recomputed in full below (state 1 or 2: exact value)
        sd = 3 if T < L else 2
        ef = c0 * ysum * math.exp(-a * (T + 1.0) ** 2) * (1.0 + 1e-9)
        ed = 2.0 * a * (T + 1.0) * ef
        k = klo
        kbest = klo
        while True:
            if state[k] < 2:
                if state[k] == 0:
                    comp[nc] = k
                    nc += 1
                conv[k], dconv[k] = _val2(ybin, gs, gd, k, mlo, mhi, T)
                state[k] = sd
            if conv[k] > conv[kbest]:
                kbest = k
            if k == khi:
                break
            k = min(k + st, khi)
        ncoarse = nc
        # v0 from the three knots nearest the maximum of the interpolant next to the best coarse knot
        if dconv[kbest] > 0.0 and kbest < khi:
            ka, kb = kbest, min(kbest + st, khi)
        else:
            ka, kb = max(kbest - st, klo), kbest
        _, u = _hermite_max(conv[ka], dconv[ka], conv[kb], dconv[kb], kb - ka)
        kc = min(max(ka + int(math.floor(u * (kb - ka) + 0.5)), klo + 1), khi - 1)
        for k in range(kc - 1, kc + 2):
            if state[k] == 0:
                conv[k] = _val(ybin, gs, k, mlo, mhi, L)
                state[k] = 1
                comp[nc] = k
                nc += 1
        v0 = max(min(conv[kc - 1], conv[kc]), min(conv[kc], conv[kc + 1]))
        # the coarse intervals on the stack (comp[:ncoarse] holds the coarse knots in order)
        top = 0
        for i in range(ncoarse - 2, -1, -1):
            stack[2 * top] = comp[i]
            stack[2 * top + 1] = comp[i + 1]
            top += 1
        while top > 0:
            top -= 1
            ka, kb = stack[2 * top], stack[2 * top + 1]
            s = kb - ka
            if s <= 1:
                continue
            fa, fb, da, db = conv[ka], conv[kb], dconv[ka], dconv[kb]
            s2 = float(s) * s
            # cheap bounds first (the Hermite interpolant is at most the higher end plus 4/27 s of the slopes
            # pointing inwards), the interpolant's maximum only if they do not prune
            tail = e4 * s2 * s2 + (8.0 / 27.0) * s * ed
            cheap = max(fa, fb) + ef + min(e2 * s2, (4.0 / 27.0) * s * (max(da, 0.0) + max(-db, 0.0)) + tail)
            if cheap + slack < v0:
                continue
            if s > 3:
                hm, _ = _hermite_max(fa, da, fb, db, s)
                if hm + ef + tail + slack < v0:
                    continue
            if s <= 3:
                for k in range(ka + 1, kb):
                    if state[k] == 0:
                        conv[k] = _val(ybin, gs, k, mlo, mhi, L)
                        state[k] = 1
                        comp[nc] = k
                        nc += 1
                for k in range(ka, kb):
                    v0 = max(v0, min(conv[k], conv[k + 1]))
                continue
            km = (ka + kb) // 2
            if state[km] < 2:
                if state[km] == 0:
                    comp[nc] = km
                    nc += 1
                conv[km], dconv[km] = _val2(ybin, gs, gd, km, mlo, mhi, T)
                state[km] = sd
            if state[km - 1] > 0:
                v0 = max(v0, min(conv[km - 1], conv[km]))
            if state[km + 1] > 0:
                v0 = max(v0, min(conv[km], conv[km + 1]))
            stack[2 * top], stack[2 * top + 1] = ka, km
            stack[2 * top + 2], stack[2 * top + 3] = km, kb
            top += 2
        v0 -= slack
        # every knot at or above v0 is computed; its neighbours too, for the interpolation
        n0 = nc
        for i in range(n0):
            k = comp[i]
            if conv[k] + (ef if state[k] == 3 else 0.0) >= v0:
                for kk in range(max(klo, k - 1), min(khi, k + 1) + 1):
                    if state[kk] == 0 or state[kk] == 3:
                        conv[kk] = _val(ybin, gs, kk, mlo, mhi, L)
                        if state[kk] == 0:
                            comp[nc] = kk
                            nc += 1
                        state[kk] = 1
    # the output grid seq(from, to, length.out = ng), interpolated as R's approx() does, at every point of an
    # interval of computed knots that reaches v0 (first the two intervals at the highest knot, then the others
    # that reach the best value so far); the first point of highest value
    kmax = comp[0]
    for i in range(nc):
        if conv[comp[i]] > conv[kmax]:
            kmax = comp[i]
    dx = (to - frm) / (ng - 1)
    best_v, best_i = -1.0, ng
    for k in range(max(klo, kmax - 1), min(khi - 1, kmax) + 1):
        if 0 < state[k] < 3 and 0 < state[k + 1] < 3:
            best_v, best_i = _interval_points(conv, k, lo, up, xdelta, frm, to, dx, best_v, best_i)
    thr = max(v0, best_v - 1e-12 * abs(best_v))
    for i in range(nc):
        k = comp[i]
        if conv[k] < thr:
            continue
        for kk in range(max(klo, k - 1), min(khi - 1, k) + 1):
            if kk != kmax - 1 and kk != kmax and 0 < state[kk] < 3 and 0 < state[kk + 1] < 3:
                best_v, best_i = _interval_points(conv, kk, lo, up, xdelta, frm, to, dx, best_v, best_i)
    return rseq(frm, to, ng, best_i)


@njit(**_OPTS)
def mode_rows(X, W, phi, out, r0, r1):
    """``out[r]`` = the mode-based estimate of ``X[r]`` with weights ``W[r]`` (Hartwig's bandwidth, R's
    ``density()``; see the module docstring) for rows ``r0 <= r < r1``."""
    n = X.shape[1]
    buf = np.empty(n)
    wn = np.empty(n)
    rows, kern, state, stack, comp = mode_scratch()
    ybin, conv, dconv, gs, gd = rows[0], rows[1], rows[2], kern[0], kern[1]
    for r in range(r0, r1):
        _normalise(W[r], wn)
        xmin, xmax = X[r, 0], X[r, 0]
        for j in range(n):
            xmin = min(xmin, X[r, j])
            xmax = max(xmax, X[r, j])
        h = bandwidth(X[r], phi, buf)
        out[r] = _density_mode(X, r, wn, xmin, xmax, h, ybin, conv, dconv, gs, gd, state, stack, comp, True)


@njit(**_OPTS)
def mode_sorted_rows(X, XS, w, phi, out, prune=True):
    """``out[b]`` = the mode-based estimate of ``X[b]`` (weights ``w``, shared) for every row, given ``XS`` =
    ``X`` sorted along rows (one outcome's bootstrap draws): the bandwidth then costs O(n)."""
    rows, kern, state, stack, comp = mode_scratch()
    ybin, conv, dconv, gs, gd = rows[0], rows[1], rows[2], kern[0], kern[1]
    wn = np.empty(w.shape[0])
    _normalise(w, wn)
    n = X.shape[1]
    fac = 0.9 / n ** 0.2 * phi
    for b in range(X.shape[0]):
        h = bandwidth_sorted(XS, b, fac)
        out[b] = _density_mode(X, b, wn, XS[b, 0], XS[b, n - 1], h, ybin, conv, dconv, gs, gd, state, stack,
                               comp, prune)


@njit(**_OPTS)
def wmedian_rows(X, W, out, r0, r1):
    """``out[r] = wmedian(X[r], W[r])`` for rows ``r0 <= r < r1``."""
    idx = np.empty(X.shape[1], np.int64)
    for r in range(r0, r1):
        out[r] = wmedian(X[r], W[r], idx)


@njit(**_OPTS)
def mode_draws(Z, b0, ratio, se, r, X, XS):
    """``X[i] = ratio[r] + se[r] * Z[b0 + i]`` for every row of ``X`` (numpy's two roundings: product, then sum),
    copied into ``XS`` (to be sorted): one pass over the draws instead of three."""
    n = X.shape[1]
    for i in range(X.shape[0]):
        for j in range(n):
            v = ratio[r, j] + se[r, j] * Z[b0 + i, j]
            X[i, j] = v
            XS[i, j] = v


@njit(**_OPTS)
def median_draws_keys(Z, bxb, b0, BY, BYSE, r, mask, X, KEYS):
    """``X[i] = (BY[r] + BYSE[r] * Z[b0 + i]) / bxb[b0 + i]`` (numpy's roundings, in its order) and the sort keys
    in ``KEYS`` (int64: ``X``'s bit pattern with the column index in the low bits ``mask``, see
    :func:`il6repro.genetics.mr._index_mask`), one pass instead of five."""
    n = X.shape[1]
    for i in range(X.shape[0]):
        for j in range(n):
            v = (BY[r, j] + BYSE[r, j] * Z[b0 + i, j]) / bxb[b0 + i, j]
            X[i, j] = v
            KEYS[i, j] = (np.float64(v).view(np.int64) & ~mask) | j


@njit(**_OPTS)
def wmedian_packed_rows(X, KEYS, w, mask, out):
    """Weighted median of every row of ``X`` (weights ``w``, shared), given ``KEYS``: the rows' float64 bit
    patterns (as int64) with the column index in the low bits (``mask``), sorted as floats. R's ``weighted.median``
    arithmetic in sorted order (cumulative sum, minus half the own weight, interpolation at one half)."""
    n = X.shape[1]
    um = np.uint64(mask)  # (unsigned indices: no wraparound of negative indices)
    for b in range(X.shape[0]):
        tot = 0.0
        for i in range(n):
            tot += w[np.uint64(KEYS[b, i]) & um]
        cs = 0.0
        prev_c, prev_j = 0.0, np.uint64(0)
        for i in range(n):
            j = np.uint64(KEYS[b, i]) & um
            cs += w[j]
            c = (cs - 0.5 * w[j]) / tot
            if c >= 0.5:
                out[b] = X[b, prev_j] + (X[b, j] - X[b, prev_j]) * (0.5 - prev_c) / (c - prev_c)
                break
            prev_c, prev_j = c, j
