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
- Weighted / simple median (Bowden et al. 2016): interpolated median of ratio estimates with first-order
  inverse-variance weights; SE from a seeded parametric bootstrap.
- Weighted mode (Hartwig et al. 2017): mode of a normal-kernel density of the ratio estimates, bandwidth by the
  modified Silverman rule times ``phi``; SE by parametric bootstrap.

An estimator that cannot be computed (too few variants, zero SNP-exposure effect) raises :class:`NotApplicable`
with the reason; :func:`mr_all` turns that into a row whose ``note`` says "not applicable: <reason>" and whose
numbers are missing, never a number.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


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
    q = stats.t.ppf(1 - alpha / 2, df) if df else stats.norm.ppf(1 - alpha / 2)
    dist = stats.t(df) if df else stats.norm
    p = float(2 * dist.sf(abs(est / se))) if se > 0 else np.nan
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
    return q, df, float(stats.chi2.sf(q, df))


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
    zq = stats.norm.ppf(1 - alpha / 2)
    if distribution == "normal":
        return est - zq * se, est + zq * se, float(2 * stats.norm.sf(abs(est / se)))
    tq = stats.t.ppf(1 - alpha / 2, df)
    if rse < 1:
        half = max(zq * se, tq * se * rse)
        p = max(float(2 * stats.norm.sf(abs(est / se))), float(2 * stats.t.sf(abs(est / se / rse), df)))
    else:
        half = tq * se
        p = float(2 * stats.t.sf(abs(est / se), df))
    return est - half, est + half, p


def egger(bx, bxse, by, byse, *, distribution: str = "normal", underdispersion: str = "floor",
          alpha: float = 0.05) -> MRResult:
    """MR-Egger regression; the intercept and its test are in ``extra``; Rucker's Q' is the residual Q."""
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method="MR-Egger")
    n = len(bx)
    s = np.sign(bx)
    x, y, w = np.abs(bx), by * s, byse ** -2
    X = np.column_stack([np.ones(n), x])
    XtW = X.T * w
    cov_unscaled = np.linalg.inv(XtW @ X)
    coef = cov_unscaled @ (XtW @ y)
    resid = y - X @ coef
    q_rucker = float(np.sum(w * resid ** 2))
    df = n - 2
    sigma = float(np.sqrt(q_rucker / df))
    if distribution not in ("normal", "t"):
        raise ValueError(f"distribution must be 'normal' or 't', got {distribution!r}")
    scale = max(1.0, sigma) if underdispersion == "floor" else sigma
    se = np.sqrt(np.diag(cov_unscaled)) * scale
    lo, hi, p = _egger_bounds(coef[1], se[1], sigma, df, alpha, distribution)
    ilo, ihi, ip = _egger_bounds(coef[0], se[0], sigma, df, alpha, distribution)
    return MRResult("MR-Egger", float(coef[1]), float(se[1]), lo, hi, p, n,
                    {"intercept": float(coef[0]), "intercept_se": float(se[0]), "intercept_ci_low": ilo,
                     "intercept_ci_high": ihi, "intercept_p": ip, "residual_se": sigma,
                     "Q_rucker": q_rucker, "Q_rucker_df": df, "Q_rucker_p": float(stats.chi2.sf(q_rucker, df)),
                     "I2_GX": i2_gx(bx, bxse, byse)})


def _in_chunks(work, rows: int, chunk: int, threads: int | None = None) -> None:
    """Call ``work(slice)`` over row chunks, on a thread pool when there is more than one chunk (numpy releases
    the GIL inside its kernels, so chunks run in parallel on all cores)."""
    slices = [slice(a, min(rows, a + chunk)) for a in range(0, rows, chunk)]
    if len(slices) > 1 and (threads or os.cpu_count() or 1) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads or os.cpu_count()) as pool:
            list(pool.map(work, slices))
    else:
        for sl in slices:
            work(sl)


def _weighted_median(beta: np.ndarray, w: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Interpolated weighted median along the last axis (Bowden et al. 2016), vectorised over rows."""
    beta = np.atleast_2d(beta)
    w = np.broadcast_to(w, beta.shape)
    out = np.empty(beta.shape[0])

    def work(sl):
        order = np.argsort(beta[sl], axis=-1)
        b = np.take_along_axis(beta[sl], order, -1)
        ww = np.take_along_axis(w[sl], order, -1)
        cum = np.cumsum(ww, -1) - 0.5 * ww
        cum = cum / ww.sum(-1, keepdims=True)
        below = (cum < 0.5).sum(-1) - 1  # last index with cum < 0.5
        below = np.clip(below, 0, b.shape[-1] - 2)
        r = np.arange(b.shape[0])
        b0, b1 = b[r, below], b[r, below + 1]
        c0, c1 = cum[r, below], cum[r, below + 1]
        out[sl] = b0 + (b1 - b0) * (0.5 - c0) / (c1 - c0)

    _in_chunks(work, beta.shape[0], chunk)
    return out


def weighted_median(bx, bxse, by, byse, *, weighting: str = "weighted", n_boot: int = 1000, seed: int = 314159265,
                    alpha: float = 0.05) -> MRResult:
    """Weighted (or simple) median estimator with a seeded parametric-bootstrap SE."""
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method=f"{weighting} median")
    if weighting not in ("weighted", "simple"):
        raise ValueError(f"weighting must be 'weighted' or 'simple', got {weighting!r}")
    ratio = by / bx
    w = (byse / np.abs(bx)) ** -2 if weighting == "weighted" else np.ones_like(bx)
    est = float(_weighted_median(ratio, w)[0])
    rng = np.random.default_rng(seed)
    bxb = rng.normal(bx, bxse, size=(n_boot, len(bx)))
    byb = rng.normal(by, byse, size=(n_boot, len(bx)))
    boot = _weighted_median(byb / bxb, w)
    se = float(np.std(boot, ddof=1))
    lo, hi, p = _ci(est, se, alpha)
    return MRResult(f"{weighting.capitalize()} median", est, se, lo, hi, p, len(bx),
                    {"n_boot": n_boot, "seed": seed})


def simple_median(bx, bxse, by, byse, **kw) -> MRResult:
    """Unweighted median of the ratio estimates (see :func:`weighted_median`)."""
    return weighted_median(bx, bxse, by, byse, weighting="simple", **kw)


def _mode(beta: np.ndarray, se: np.ndarray, w: np.ndarray, phi: float, *, exact: bool = True,
          chunk: int = 2048, threads: int | None = None) -> np.ndarray:
    """Mode of a weighted normal-kernel density, vectorised over rows (Hartwig et al. 2017).

    The density is evaluated on R density()'s grid (512 points over [min - 3h, max + 3h]) and the grid point of
    highest density returned. ``exact=False`` (used for bootstrap replicates) first scans a 64-point grid, then
    the 512-grid points within one coarse step of the two highest coarse points, in single precision: the same
    grid with ~5x fewer kernel evaluations; it can differ from the full scan only when two separate modes are
    nearly tied. Rows are processed in chunks on ``threads`` threads (default: all cores).
    """
    beta = np.atleast_2d(np.asarray(beta, float))
    rows, n = beta.shape
    w = np.broadcast_to(np.asarray(w, float), beta.shape)
    h, lo, step, out = (np.empty(rows) for _ in range(4))
    dt = np.float64 if exact else np.float32
    c = np.sqrt(0.5)

    def dens(b, idx):  # density (up to a constant) at grid indices idx (r, k), accumulated variant by variant
        inv = (c / h[b])[:, None]
        g = ((lo[b][:, None] + step[b][:, None] * idx) * inv).astype(dt)
        bs = (beta[b] * inv).astype(dt)
        ww = (w[b] / w[b].sum(-1, keepdims=True)).astype(dt)
        d = np.zeros(g.shape, dt)
        z = np.empty(g.shape, dt)
        for j in range(n):
            np.subtract(g, bs[:, j, None], out=z)
            np.square(z, out=z)
            np.negative(z, out=z)
            np.exp(z, out=z)
            z *= ww[:, j, None]
            d += z
        return d

    def work(b):
        m = b.stop - b.start
        bb = beta[b]
        mad = stats.median_abs_deviation(bb, axis=-1, scale="normal")
        sd = np.std(bb, axis=-1, ddof=1)
        h[b] = np.maximum(1e-8, 0.9 * np.minimum(sd, mad) / n ** 0.2) * phi
        lo[b] = bb.min(-1) - 3 * h[b]
        step[b] = (bb.max(-1) + 3 * h[b] - lo[b]) / 511
        if exact:
            idx = np.broadcast_to(np.arange(512, dtype=float), (m, 512))
            out[b] = lo[b] + step[b] * np.argmax(dens(b, idx), 1)
            return
        coarse = np.broadcast_to(np.arange(4, 512, 8, dtype=float), (m, 64))
        top = np.argsort(dens(b, coarse), 1)[:, -2:] * 8 + 4
        cand = np.clip((top[:, :, None] + np.arange(-8, 9)[None, None, :]).reshape(m, -1), 0, 511).astype(float)
        out[b] = lo[b] + step[b] * cand[np.arange(m), np.argmax(dens(b, cand), 1)]

    _in_chunks(work, rows, chunk, threads)
    return out


def weighted_mode(bx, bxse, by, byse, *, phi: float = 1.0, n_boot: int = 1000, seed: int = 314159265,
                  alpha: float = 0.05) -> MRResult:
    """Weighted mode-based estimate (first-order weights) with a seeded parametric-bootstrap SE."""
    bx, bxse, by, byse = _arrays(bx, bxse, by, byse, min_snps=3, method="Weighted mode")
    ratio = by / bx
    se_r = byse / np.abs(bx)
    w = se_r ** -2
    est = float(_mode(ratio, se_r, w, phi)[0])
    rng = np.random.default_rng(seed)
    bxb = rng.normal(bx, bxse, size=(n_boot, len(bx)))
    byb = rng.normal(by, byse, size=(n_boot, len(bx)))
    boot = _mode(byb / bxb, se_r, w, phi, exact=False)
    se = float(np.median(np.abs(boot - np.median(boot))) * 1.4826)
    lo, hi, p = _ci(est, se, alpha)
    return MRResult("Weighted mode", est, se, lo, hi, p, len(bx), {"phi": phi, "n_boot": n_boot, "seed": seed})


def f_statistics(bx, bxse) -> pd.Series:
    """Per-variant F (``(bx/bxse)^2``) - the approximate first-stage F of each instrument."""
    return pd.Series((np.asarray(bx, float) / np.asarray(bxse, float)) ** 2, name="F")


def single_snp(bx, bxse, by, byse, snps=None, *, order: int = 1) -> pd.DataFrame:
    """Wald ratio of every variant, one row each."""
    snps = list(snps) if snps is not None else [f"snp_{i + 1}" for i in range(len(bx))]
    rows = []
    for i, s in enumerate(snps):
        r = wald_ratio([bx[i]], [bxse[i]], [by[i]], [byse[i]], order=order)
        rows.append(dict(r.to_dict(), snp=s))
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
           "weighted_mode": weighted_mode}


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
        kw = {"seed": seed, "n_boot": n_boot} if name in ("weighted_median", "simple_median", "weighted_mode") else {}
        try:
            rows.append(dict(METHODS[name](bx, bxse, by, byse, **kw).to_dict(), note=""))
        except NotApplicable as exc:
            rows.append({"method": name, "n_snp": n, "note": f"not applicable: {exc}"})
    return pd.DataFrame(rows)
