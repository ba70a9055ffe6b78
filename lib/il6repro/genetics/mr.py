"""Two-sample Mendelian randomization estimators on harmonised summary statistics.

Every estimator takes the same four arrays (SNP-exposure ``bx``, its SE ``bxse``, SNP-outcome ``by``, its SE
``byse``) and returns an :class:`MRResult` with the same fields, so one tidy table shape flows through (the
TwoSampleMR habit). Conventions follow the R package MendelianRandomization (Yavorska & Burgess 2017; Broadbent
et al. 2020), and where R packages differ the choice is an option with a documented default:

- IVW ``model="random"`` (multiplicative random effects): SE = fixed-effect SE x max(1, residual SE), i.e.
  under-dispersion is not rewarded (``underdispersion="floor"``, MendelianRandomization); ``"allow"`` scales by
  the residual SE even when below 1 (as a plain weighted regression would). ``model="default"`` is fixed effect
  for three variants or fewer, random otherwise (as in MendelianRandomization).
- MR-Egger: regression of ``by*sign(bx)`` on ``|bx|`` with weights ``byse^-2``; intercept = directional
  pleiotropy; SE floored like IVW; ``distribution="normal"`` (MendelianRandomization default) or ``"t"``
  (MendelianRandomization's "t-dist" rule: t with n-2 df, and under under-dispersion the wider of that and the
  floored normal interval). TwoSampleMR's ``mr_egger_regression`` uses a plain t with n-2 df instead.
- Weighted / simple median (Bowden et al. 2016): interpolated median of the ratio estimates; weights from the
  first-order ratio SE (``ratio_se="first"``, MendelianRandomization) or the second-order one (``"second"``,
  TwoSampleMR); SE from a seeded parametric bootstrap (bx and by redrawn, weights fixed, SD of the medians).
- Mode-based estimate (Hartwig et al. 2017): mode of R's ``density()`` of the ratio estimates (see
  :func:`r_density`), bandwidth by the modified Silverman rule times ``phi``, weighted or simple, second-order
  (default of both R packages) or first-order (NOME) ratio SEs; SE = MAD of the modes of bootstrap draws of the
  ratio estimates, as both R packages compute it.

The bootstrap estimators run in compiled kernels (:mod:`._kernels`) over outcomes x draws, with R-literal numpy
references (:func:`weighted_median_r`, :func:`mode_r`) for the point estimates and for the tests.

An estimator that cannot be computed (too few variants, zero SNP-exposure effect) raises :class:`NotApplicable`
with the reason; :func:`mr_all` turns that into a row whose ``note`` says "not applicable: <reason>" and whose
numbers are missing, never a number.
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .. import _dist


class NotApplicable(ValueError):
    """The estimator does not apply to these data (the message says why)."""


@dataclass
class MRResult:
    """One estimate: the shared results shape of every estimator."""

    method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    n_snp: int
    extra: dict = field(default_factory=dict)

    @property
    def z(self) -> float:
        return self.estimate / self.se if self.se > 0 else np.nan

    def summary(self) -> str:
        """A one-line human summary."""
        ex = "; ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in self.extra.items())
        return (f"{self.method}: {self.estimate:.4f} (SE {self.se:.4f}; 95% CI {self.ci_low:.4f}, "
                f"{self.ci_high:.4f}; p = {self.p:.3g}; {self.n_snp} SNPs){'; ' + ex if ex else ''}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(d.pop("extra"))
        d["z"] = self.z
        return d


def _arrays(bx, bxse, by, byse, *, min_snps: int, method: str):
    arrs = [np.asarray(a, dtype=float).ravel() for a in (bx, bxse, by, byse)]
    n = len(arrs[0])
    if any(len(a) != n for a in arrs):
        raise ValueError(f"{method}: bx, bxse, by, byse must have the same length, got {[len(a) for a in arrs]}")
    if any(not np.all(np.isfinite(a)) for a in arrs):
        raise ValueError(f"{method}: missing or non-finite values in the summary statistics")
    if np.any(arrs[1] <= 0) or np.any(arrs[3] <= 0):
        raise ValueError(f"{method}: standard errors must be positive (got zero or negative bxse/byse)")
    if n < min_snps:
        raise NotApplicable(f"{method} needs at least {min_snps} variant(s), got {n}")
    if np.any(arrs[0] == 0):
        raise NotApplicable(f"{method}: a variant has zero association with the exposure (ratio undefined)")
    return arrs


def _ci(est: float, se: float, alpha: float, df: float | None = None):
    q = _dist.t_ppf(1 - alpha / 2, df) if df else _dist.norm_ppf(1 - alpha / 2)
    p = float(2 * (_dist.t_sf(abs(est / se), df) if df else _dist.norm_sf(abs(est / se)))) if se > 0 else np.nan
    return est - q * se, est + q * se, p


def wald_ratio(bx, bxse, by, byse, *, order: int = 1, alpha: float = 0.05) -> MRResult:
    """Ratio estimate of a single variant: ``by/bx``; SE first order ``byse/|bx|`` or second order (delta)."""
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=1, method="Wald ratio")
    if len(bx) != 1:
        raise ValueError(f"Wald ratio takes one variant, got {len(bx)} (use single_snp for each)")
    est = by[0] / bx[0]
    if order == 1:
        se = byse[0] / abs(bx[0])
    elif order == 2:
        se = np.sqrt(byse[0] ** 2 / bx[0] ** 2 + by[0] ** 2 * bxse[0] ** 2 / bx[0] ** 4)
    else:
        raise ValueError(f"order must be 1 or 2, got {order}")
    lo, hi, p = _ci(est, se, alpha)
    return MRResult("Wald ratio", est, se, lo, hi, p, 1, {"order": order})


def cochran_q(bx, by, byse, estimate: float) -> tuple[float, int, float]:
    """Cochran's Q of the ratio estimates around ``estimate`` (first-order weights): (Q, df, p)."""
    q = float(np.sum(((by - estimate * bx) / byse) ** 2))
    df = len(bx) - 1
    return q, df, float(_dist.chi2_sf(q, df))


def ivw(bx, bxse, by, byse, *, model: str = "default", underdispersion: str = "floor", alpha: float = 0.05,
        distribution: str = "normal") -> MRResult:
    """Inverse-variance weighted estimate (fixed or multiplicative random effects); see module docstring."""
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=2, method="IVW")
    n = len(bx)
    if model == "default":
        model = "fixed" if n <= 3 else "random"
    if model not in ("fixed", "random"):
        raise ValueError(f"model must be 'default', 'fixed' or 'random', got {model!r}")
    if underdispersion not in ("floor", "allow"):
        raise ValueError(f"underdispersion must be 'floor' or 'allow', got {underdispersion!r}")
    w = byse ** -2
    est = float(np.sum(w * bx * by) / np.sum(w * bx ** 2))
    se_fixed = float(1 / np.sqrt(np.sum(w * bx ** 2)))
    q, df, q_p = cochran_q(bx, by, byse, est)
    rse = float(np.sqrt(q / df))
    se = se_fixed
    if model == "random":
        se = se_fixed * (max(1.0, rse) if underdispersion == "floor" else rse)
    lo, hi, p = _ci(est, se, alpha, df if distribution == "t" else None)
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return MRResult(f"IVW ({model})", est, se, lo, hi, p, n,
                    {"Q": q, "Q_df": df, "Q_p": q_p, "I2": i2, "residual_se": rse,
                     "F_mean": float(np.mean((bx / bxse) ** 2))})


def i2_gx(bx, bxse, byse) -> float:
    """Bowden's I^2_GX, the NOME-violation check for MR-Egger, as MendelianRandomization computes it.

    Q = sum(w (|bx|/byse - mean_w)^2) with w = (bxse/byse)^-2 and mean_w the w-weighted mean of |bx|/byse;
    I^2_GX = max(0, (Q - (n - 1)) / Q).
    """
    bx = np.abs(np.asarray(bx, float))
    bxse, byse = np.asarray(bxse, float), np.asarray(byse, float)
    x = bx / byse
    w = (bxse / byse) ** -2
    mean = np.sum(w * x) / np.sum(w)
    q = float(np.sum(w * (x - mean) ** 2))
    return max(0.0, (q - (len(bx) - 1)) / q) if q > 0 else 0.0


def _egger_bounds(est: float, se: float, rse: float, df: int, alpha: float, distribution: str):
    """CI and p as MendelianRandomization's egger.bounds: with "t", when rse < 1 take the wider of a normal
    interval (SE floored) and a t interval with SE x rse, so under-dispersion is not doubly penalised."""
    zq = _dist.norm_ppf(1 - alpha / 2)
    if distribution == "normal":
        return est - zq * se, est + zq * se, float(2 * _dist.norm_sf(abs(est / se)))
    tq = _dist.t_ppf(1 - alpha / 2, df)
    if rse < 1:
        half = max(zq * se, tq * se * rse)
        p = max(float(2 * _dist.norm_sf(abs(est / se))), float(2 * _dist.t_sf(abs(est / se / rse), df)))
    else:
        half = tq * se
        p = float(2 * _dist.t_sf(abs(est / se), df))
    return est - half, est + half, p


EGGER_COLLINEAR = ("MR-Egger: every variant has the same |SNP-exposure effect|, so the slope is not identified "
                   "apart from the intercept")


def egger_collinear(x, w) -> np.ndarray | bool:
    """Whether ``|bx|`` (``x``, ``J`` or ``J x R``) has no spread under the weights ``w``: the weighted variance
    ``Sw Sxx - Sx^2`` is at most 1e-10 of ``Sw Sxx`` (MR-Egger's design matrix is then singular)."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    if x.ndim < w.ndim:
        x = np.broadcast_to(x.reshape(x.shape + (1,) * (w.ndim - x.ndim)), w.shape)
    sw, sx, sxx = w.sum(0), (w * x).sum(0), (w * x * x).sum(0)
    return sw * sxx - sx ** 2 <= 1e-10 * sw * sxx


def egger(bx, bxse, by, byse, *, distribution: str = "normal", underdispersion: str = "floor",
          alpha: float = 0.05) -> MRResult:
    """MR-Egger regression; the intercept and its test are in ``extra``; Rucker's Q' is the residual Q."""
    if distribution not in ("normal", "t"):
        raise ValueError(f"distribution must be 'normal' or 't', got {distribution!r}")
    if underdispersion not in ("floor", "allow"):
        raise ValueError(f"underdispersion must be 'floor' or 'allow', got {underdispersion!r}")
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method="MR-Egger")
    n = len(bx)
    s = np.sign(bx)
    x, y, w = np.abs(bx), by * s, byse ** -2
    if egger_collinear(x, w):
        raise NotApplicable(EGGER_COLLINEAR)
    X = np.column_stack([np.ones(n), x])
    XtW = X.T * w
    cov_unscaled = np.linalg.inv(XtW @ X)
    coef = cov_unscaled @ (XtW @ y)
    resid = y - X @ coef
    q_rucker = float(np.sum(w * resid ** 2))
    df = n - 2
    sigma = float(np.sqrt(q_rucker / df))
    scale = max(1.0, sigma) if underdispersion == "floor" else sigma
    se = np.sqrt(np.diag(cov_unscaled)) * scale
    lo, hi, p = _egger_bounds(coef[1], se[1], sigma, df, alpha, distribution)
    ilo, ihi, ip = _egger_bounds(coef[0], se[0], sigma, df, alpha, distribution)
    return MRResult("MR-Egger", float(coef[1]), float(se[1]), lo, hi, p, n,
                    {"intercept": float(coef[0]), "intercept_se": float(se[0]), "intercept_ci_low": ilo,
                     "intercept_ci_high": ihi, "intercept_p": ip, "residual_se": sigma,
                     "Q_rucker": q_rucker, "Q_rucker_df": df, "Q_rucker_p": float(_dist.chi2_sf(q_rucker, df)),
                     "I2_GX": i2_gx(bx, bxse, byse)})


def _in_chunks(work, rows: int, chunk: int, threads: int | None = None) -> None:
    """Call ``work(slice)`` over row chunks, on a thread pool when there is more than one chunk (the compiled
    kernels and numpy release the GIL, so chunks run in parallel on all cores)."""
    slices = [slice(a, min(rows, a + chunk)) for a in range(0, rows, chunk)]
    n_threads = threads or os.cpu_count() or 1
    if len(slices) > 1 and n_threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(work, slices))
    else:
        for sl in slices:
            work(sl)


def _chunk(rows: int, threads: int | None) -> int:
    """Rows per chunk: a few chunks per thread (load balance), at least one row."""
    return max(1, -(-rows // (4 * (threads or os.cpu_count() or 1))))


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def ratio_standard_error(bx, bxse, by, byse, order: str = "first") -> np.ndarray:
    """Standard error of each ratio estimate ``by/bx``: ``"first"`` order ``byse/|bx|`` (assumes no measurement
    error in bx, NOME) or ``"second"`` order (delta method) ``sqrt(byse^2/bx^2 + by^2 bxse^2/bx^4)``."""
    _choice("ratio_se", order, ("first", "second"))
    bx, bxse, by, byse = (np.asarray(a, float) for a in (bx, bxse, by, byse))
    if order == "first":
        return byse / np.abs(bx)
    return np.sqrt(byse ** 2 / bx ** 2 + by ** 2 * bxse ** 2 / bx ** 4)


def weighted_median_r(beta, w) -> float:
    """R's ``weighted.median`` (MendelianRandomization / TwoSampleMR), line by line: stable order, cumulative
    weights minus half the own weight, linear interpolation at one half."""
    beta, w = np.asarray(beta, float), np.asarray(w, float)
    order = np.argsort(beta, kind="stable")
    b, ww = beta[order], w[order]
    cum = (np.cumsum(ww) - 0.5 * ww) / ww.sum()
    below = int(np.nonzero(cum < 0.5)[0].max())
    return float(b[below] + (b[below + 1] - b[below]) * (0.5 - cum[below]) / (cum[below + 1] - cum[below]))


def _weighted_median(beta: np.ndarray, w: np.ndarray, threads: int | None = None) -> np.ndarray:
    """Weighted median of every row (compiled kernel; equals :func:`weighted_median_r` row by row)."""
    from . import _kernels as K

    beta = np.ascontiguousarray(np.atleast_2d(beta), dtype=float)
    w = np.ascontiguousarray(np.broadcast_to(w, beta.shape), dtype=float)
    out = np.empty(beta.shape[0])
    _in_chunks(lambda sl: K.wmedian_rows(beta, w, out, sl.start, sl.stop), beta.shape[0],
               _chunk(beta.shape[0], threads), threads)
    return out


def median_draws(bx, bxse, n_boot: int, seed: int):
    """The median bootstrap's draws: ``bx`` redrawn (``n_boot x J``) and the standard normals of ``by``.

    Draw ``i`` takes ``J`` normals for ``bx`` then ``J`` for ``by`` from ``numpy.random.default_rng(seed)``, the
    order of R's ``weighted.median.boot.se`` loop (and of pytwosamplemr's port), so every outcome of a scan and a
    per-pair call with the same seed use the same draws.
    """
    bx, bxse = np.asarray(bx, float), np.asarray(bxse, float)
    z = np.random.default_rng(seed).standard_normal((n_boot, 2, len(bx)))
    return np.ascontiguousarray(bx + bxse * z[:, 0]), np.ascontiguousarray(z[:, 1])


def _index_mask(n: int) -> int:
    """The mask of the low bits that hold a column index below ``n`` in the weighted median's sort keys (each
    draw's float64 bit pattern with its column index in the low mantissa bits, so one float sort per chunk
    replaces an argsort: a key differs from its value by less than 2^(bits - 52) of it, so only values that
    close can swap order)."""
    return (1 << max(1, int(np.ceil(np.log2(n))))) - 1


_BUFFERS = threading.local()


def _buffers(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 work arrays of ``shape``, kept per thread and reused from outcome to outcome (a scan's
    bootstrap loops would otherwise allocate, and page in, two draws x J arrays per outcome)."""
    b = getattr(_BUFFERS, "pair", None)
    if b is None or b[0].shape != shape:
        b = _BUFFERS.pair = (np.empty(shape), np.empty(shape))
    return b


def _by_outcome(n_out: int, n_boot: int, threads: int | None, one) -> None:
    """Run ``one(r, b0, b1)`` for every outcome ``r`` (threads over outcomes, or over draws if few outcomes)."""
    t = threads or os.cpu_count() or 1
    if n_out >= 2 * t or n_boot < 2 * t:
        def work(sl):
            for r in range(sl.start, sl.stop):
                one(r, 0, n_boot)
        _in_chunks(work, n_out, _chunk(n_out, threads), threads)
    else:
        for r in range(n_out):
            _in_chunks(lambda sl, r=r: one(r, sl.start, sl.stop), n_boot, _chunk(n_boot, threads), threads)


def median_boot(bx, bxse, BY, BYSE, W, n_boot: int, seed: int, threads: int | None = None) -> np.ndarray:
    """Bootstrap weighted medians, ``n_boot x R``: outcome ``r`` (row ``r`` of the ``R x J`` arrays ``BY``,
    ``BYSE``, weights ``W``) resampled as ``by ~ N(BY[r], BYSE[r])``, ``bx ~ N(bx, bxse)`` (shared draws)."""
    from . import _kernels as K

    BY, BYSE, W = (np.ascontiguousarray(np.atleast_2d(a), dtype=float) for a in (BY, BYSE, W))
    bxb, Z = median_draws(bx, bxse, n_boot, seed)
    out = np.empty((BY.shape[0], n_boot))

    mask = _index_mask(Z.shape[1])

    def one(r, b0, b1):
        X, kb = _buffers((b1 - b0, Z.shape[1]))
        keys = kb.view(np.int64)
        K.median_draws_keys(Z, bxb, b0, BY, BYSE, r, mask, X, keys)  # X = (BY[r] + BYSE[r] Z) / bxb, keys
        kb.sort(axis=1)  # as floats: the index bits change a value by less than 2^(bits - 52) of it
        K.wmedian_packed_rows(X, keys, W[r], mask, out[r, b0:b1])

    _by_outcome(BY.shape[0], n_boot, threads, one)
    return out.T


def weighted_median(bx, bxse, by, byse, *, weighting: str = "weighted", ratio_se: str = "first",
                    n_boot: int = 1000, seed: int = 314159265, alpha: float = 0.05,
                    threads: int | None = None) -> MRResult:
    """Weighted (or simple) median estimator (Bowden et al. 2016) with a seeded parametric-bootstrap SE.

    Parameters
    ----------
    weighting : {"weighted", "simple"}
        Inverse-variance weights of the ratio estimates, or equal weights.
    ratio_se : {"first", "second"}
        Order of the ratio SE in the weights: ``"first"`` (``bx^2/byse^2``) reproduces MendelianRandomization's
        ``mr_median(weighting = "weighted")``; ``"second"`` (delta method) reproduces TwoSampleMR's
        ``mr_weighted_median``. The simple median ignores it.
    n_boot, seed
        Bootstrap draws (``bx`` and ``by`` redrawn from their normal sampling distributions, weights fixed, as
        both R packages do); SE = standard deviation of the bootstrap medians.
    """
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method=f"{weighting} median")
    _choice("weighting", weighting, ("weighted", "simple"))
    _choice("ratio_se", ratio_se, ("first", "second"))
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    ratio = by / bx
    w = ratio_se_weights(bx, bxse, by, byse, weighting, ratio_se)
    est = weighted_median_r(ratio, w)
    boot = median_boot(bx, bxse, by[None], byse[None], w[None], n_boot, seed, threads)[:, 0]
    se = float(np.std(boot, ddof=1))
    lo, hi, p = _ci(est, se, alpha)
    return MRResult(f"{weighting.capitalize()} median", est, se, lo, hi, p, len(bx),
                    {"ratio_se": ratio_se if weighting == "weighted" else "", "n_boot": n_boot, "seed": seed})


def ratio_se_weights(bx, bxse, by, byse, weighting: str, order: str) -> np.ndarray:
    """Weights of the median / mode: ``ratio_se(order)^-2``, or ones for ``weighting="simple"``."""
    if weighting == "simple":
        return np.ones(len(np.atleast_1d(bx)))
    return ratio_standard_error(bx, bxse, by, byse, order) ** -2


def simple_median(bx, bxse, by, byse, **kw) -> MRResult:
    """Unweighted median of the ratio estimates (see :func:`weighted_median`)."""
    return weighted_median(bx, bxse, by, byse, weighting="simple", **kw)


def _r_seq(a: float, b: float, n: int) -> np.ndarray:
    """R's ``seq.int(a, b, length.out = n)`` (lower half from ``a`` up, upper half from ``b`` down)."""
    i = np.arange(n, dtype=float)
    by = (b - a) / (n - 1)
    out = np.where(np.arange(n) < n // 2, a + i * by, b - (n - 1 - i) * by)
    out[0], out[-1] = a, b
    return out


def hartwig_bandwidth(x, phi: float = 1.0) -> float:
    """Bandwidth of the mode-based estimate: ``max(1e-8, phi * 0.9 * min(sd, mad) / n^(1/5))`` (modified
    Silverman rule, Bickel 2002; R's ``sd`` and ``mad`` with constant 1.4826), as both R packages compute it."""
    x = np.asarray(x, float)
    mad = 1.4826 * np.median(np.abs(x - np.median(x)))
    return max(1e-8, 0.9 * min(float(np.std(x, ddof=1)), float(mad)) / len(x) ** 0.2 * phi)


def r_density(x, weights, bw: float, n: int = 512, cut: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """R 4.2's ``density(x, weights = weights, bw = bw)`` (Gaussian kernel), a line-by-line port: linear binning
    (``BinDist``) on ``n`` points over ``[from - 4 bw, to + 4 bw]``, FFT convolution with the kernel sampled on
    ``seq(0, 2 (up - lo), length.out = 2n)``, linear interpolation onto ``seq(from, to, length.out = n)``.

    The reference for the compiled mode kernel; returns ``(x, y)`` as R's ``$x`` and ``$y``.
    """
    x, weights = np.asarray(x, float), np.asarray(weights, float)
    n_user = n
    n = max(n, 512)
    if n > 512:
        n = 2 ** int(np.ceil(np.log2(n)))
    frm, to = x.min() - cut * bw, x.max() + cut * bw
    lo, up = frm - 4 * bw, to + 4 * bw
    y = np.zeros(2 * n)
    xdelta = (up - lo) / (n - 1)
    xpos = (x - lo) / xdelta
    ix = np.floor(xpos).astype(int)
    fx = xpos - ix
    inside = (ix >= 0) & (ix <= n - 2)
    np.add.at(y, ix[inside], weights[inside] * (1 - fx[inside]))
    np.add.at(y, ix[inside] + 1, weights[inside] * fx[inside])
    np.add.at(y, np.zeros((ix == -1).sum(), int), (weights * fx)[ix == -1])
    np.add.at(y, ix[ix == n - 1], (weights * (1 - fx))[ix == n - 1])
    kords = _r_seq(0.0, 2 * (up - lo), 2 * n)
    kords[n + 1:] = -kords[n - 1:0:-1]
    kords = _dist.norm_pdf(kords / bw) / bw
    conv = np.fft.ifft(np.fft.fft(y) * np.conj(np.fft.fft(kords)))
    conv = np.maximum(0, conv.real[:n])
    xords = _r_seq(lo, up, n)
    xg = _r_seq(frm, to, n_user)
    return xg, np.interp(xg, xords, conv)


def mode_r(x, w, phi: float = 1.0) -> float:
    """Hartwig's mode-based estimate of one set of ratios, as R computes it: the first grid point of highest
    density of :func:`r_density` with weights ``w / sum(w)`` and :func:`hartwig_bandwidth`."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    xg, yg = r_density(x, w / w.sum(), hartwig_bandwidth(x, phi))
    return float(xg[np.argmax(yg)])


def _mode(beta: np.ndarray, w: np.ndarray, phi: float, threads: int | None = None) -> np.ndarray:
    """Mode-based estimate of every row (compiled kernel; equals :func:`mode_r` row by row)."""
    from . import _kernels as K

    beta = np.ascontiguousarray(np.atleast_2d(beta), dtype=float)
    w = np.ascontiguousarray(np.broadcast_to(w, beta.shape), dtype=float)
    out = np.empty(beta.shape[0])
    _in_chunks(lambda sl: K.mode_rows(beta, w, float(phi), out, sl.start, sl.stop), beta.shape[0],
               _chunk(beta.shape[0], threads), threads)
    return out


def mode_boot(ratio, se, W, n_boot: int, seed: int, phi: float = 1.0, threads: int | None = None) -> np.ndarray:
    """Bootstrap modes, ``n_boot x R``: the ratios of outcome ``r`` (rows of the ``R x J`` arrays) redrawn as
    ``N(ratio[r], se[r])`` (as both R packages do), standard normals from ``default_rng(seed)``, shared."""
    from . import _kernels as K

    ratio, se, W = (np.ascontiguousarray(np.atleast_2d(a), dtype=float) for a in (ratio, se, W))
    Z = np.random.default_rng(seed).standard_normal((n_boot, ratio.shape[1]))
    out = np.empty((ratio.shape[0], n_boot))

    def one(r, b0, b1):
        X, XS = _buffers((b1 - b0, Z.shape[1]))
        K.mode_draws(Z, b0, ratio, se, r, X, XS)  # X = XS = ratio[r] + se[r] Z
        XS.sort(axis=1)
        K.mode_sorted_rows(X, XS, W[r], float(phi), out[r, b0:b1])

    _by_outcome(ratio.shape[0], n_boot, threads, one)
    return out.T


def mad(x, axis: int = 0) -> np.ndarray:
    """R's ``mad``: 1.4826 x the median absolute deviation from the median."""
    x = np.asarray(x, float)
    return 1.4826 * np.median(np.abs(x - np.median(x, axis=axis, keepdims=True)), axis=axis)


def weighted_mode(bx, bxse, by, byse, *, weighting: str = "weighted", ratio_se: str = "second", phi: float = 1.0,
                  n_boot: int = 1000, seed: int = 314159265, alpha: float = 0.05,
                  threads: int | None = None) -> MRResult:
    """Mode-based estimate (MBE, Hartwig, Davey Smith & Bowden 2017) with a seeded parametric-bootstrap SE.

    The estimate is the mode of R's ``density()`` of the ratio estimates (Gaussian kernel, 512-point grid, see
    :func:`r_density`) with bandwidth :func:`hartwig_bandwidth` (``phi`` scales it), weights ``ratio_se^-2``
    (``weighting="weighted"``) or equal (``"simple"``). The SE is the MAD of the modes of ``n_boot`` draws of
    the ratio estimates from ``N(ratio, ratio_se)``.

    Parameters
    ----------
    weighting : {"weighted", "simple"}
    ratio_se : {"second", "first"}
        ``"second"`` (delta method, no NOME assumption; the default of both R packages) or ``"first"``
        (``byse/|bx|``, NOME); it sets the weights and the bootstrap's SD together.

    Reproduces MendelianRandomization's ``mr_mbe(weighting, stderror = "delta" | "simple", phi)``, and
    TwoSampleMR's ``mr_mode`` rows "Weighted mode" (weighted, second), "Simple mode" (simple, second) and
    "Simple mode (NOME)" (simple, first); TwoSampleMR's "Weighted mode (NOME)" is (weighted, first).
    """
    _choice("weighting", weighting, ("weighted", "simple"))
    _choice("ratio_se", ratio_se, ("first", "second"))
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method=f"{weighting.capitalize()} mode")
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2, got {n_boot}")
    ratio = by / bx
    se_r = ratio_standard_error(bx, bxse, by, byse, ratio_se)
    w = np.ones_like(ratio) if weighting == "simple" else se_r ** -2
    est = mode_r(ratio, w, phi)
    boot = mode_boot(ratio[None], se_r[None], w[None], n_boot, seed, phi, threads)[:, 0]
    se = float(mad(boot))
    lo, hi, p = _ci(est, se, alpha)
    return MRResult(f"{weighting.capitalize()} mode", est, se, lo, hi, p, len(bx),
                    {"ratio_se": ratio_se, "phi": phi, "n_boot": n_boot, "seed": seed})



def simple_mode(bx, bxse, by, byse, **kw) -> MRResult:
    """Unweighted mode-based estimate (see :func:`weighted_mode`)."""
    return weighted_mode(bx, bxse, by, byse, weighting="simple", **kw)


def f_statistics(bx, bxse) -> pd.Series:
    """Per-variant F (``(bx/bxse)^2``) - the approximate first-stage F of each instrument."""
    return pd.Series((np.asarray(bx, float) / np.asarray(bxse, float)) ** 2, name="F")


def single_snp(bx, bxse, by, byse, snps=None, *, order: int = 1) -> pd.DataFrame:
    """Wald ratio of every variant, one row each (positional: any array-like, a filtered Series included);
    a variant with zero SNP-exposure effect gets a "not applicable: ..." note and no numbers."""
    bx, bxse, by, byse = (np.asarray(a, dtype=float).ravel() for a in (bx, bxse, by, byse))
    snps = list(snps) if snps is not None else [f"snp_{i + 1}" for i in range(len(bx))]
    if len(snps) != len(bx):
        raise ValueError(f"single_snp: {len(snps)} SNP names for {len(bx)} variants")
    rows = []
    for i, s in enumerate(snps):
        try:
            r = wald_ratio(bx[i:i + 1], bxse[i:i + 1], by[i:i + 1], byse[i:i + 1], order=order)
            rows.append(dict(r.to_dict(), snp=s, note=""))
        except NotApplicable as exc:
            rows.append({"method": "Wald ratio", "n_snp": 1, "snp": s, "note": f"not applicable: {exc}"})
    return pd.DataFrame(rows)


def leave_one_out(bx, bxse, by, byse, snps=None, *, estimator=ivw, **kw) -> pd.DataFrame:
    """Re-estimate leaving out each variant in turn (default IVW)."""
    bx, bxse, by, byse = (np.asarray(a, float) for a in (bx, bxse, by, byse))
    snps = list(snps) if snps is not None else [f"snp_{i + 1}" for i in range(len(bx))]
    rows = []
    for i, s in enumerate(snps):
        keep = np.arange(len(bx)) != i
        try:
            r = estimator(bx[keep], bxse[keep], by[keep], byse[keep], **kw)
            rows.append(dict(r.to_dict(), left_out=s, note=""))
        except NotApplicable as exc:
            rows.append({"method": estimator.__name__, "left_out": s, "note": f"not applicable: {exc}"})
    return pd.DataFrame(rows)


METHODS = {"ivw": ivw, "egger": egger, "weighted_median": weighted_median, "simple_median": simple_median,
           "weighted_mode": weighted_mode, "simple_mode": simple_mode}
BOOTSTRAP = ("weighted_median", "simple_median", "weighted_mode", "simple_mode")


def mr_all(bx, bxse, by, byse, *, methods=("ivw", "egger", "weighted_median", "weighted_mode"),
           seed: int = 314159265, n_boot: int = 1000) -> pd.DataFrame:
    """Run several estimators; one tidy row each, "not applicable: reason" where an estimator does not apply."""
    rows = []
    n = len(np.atleast_1d(bx))
    if n == 1:
        r = wald_ratio(bx, bxse, by, byse)
        return pd.DataFrame([dict(r.to_dict(), note="single variant: Wald ratio only")])
    for name in methods:
        if name not in METHODS:
            raise ValueError(f"unknown MR method {name!r}; choose from {sorted(METHODS)}")
        kw = {"seed": seed, "n_boot": n_boot} if name in BOOTSTRAP else {}
        try:
            rows.append(dict(METHODS[name](bx, bxse, by, byse, **kw).to_dict(), note=""))
        except NotApplicable as exc:
            rows.append({"method": name, "n_snp": n, "note": f"not applicable: {exc}"})
    return pd.DataFrame(rows)
