"""Statistics of calibration studies (``benchmarks/calibrate_*.py``): shares with exact binomial CIs, Monte-Carlo
SEs by seed (cluster bootstrap: pairs of one seed share a twin, so they are not independent), the spread of
standardised errors, and three-valued verdicts against a stated band.

A verdict is ``"met"`` when the whole 95% CI lies inside the band, ``"NOT met"`` when it lies wholly outside, and
``"undecided"`` otherwise: more seeds are needed. :func:`prob_met` gives the chance that a perfectly calibrated
method is declared ``"met"`` at a given (effective) number of pairs, which is how the scripts' default numbers of
seeds were chosen (about 95%).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _dist

COVERAGE_BAND = (93.5, 96.5)  # % of 95% CIs covering the truth
TYPE1_BAND = (4.0, 6.0)  # % of null pairs with P < 0.05 (two-sided: too few rejections fail too)
SD_BAND = (0.95, 1.05)  # SD of standardised errors (null z's); below: conservative, above: anti-conservative


def clopper_pearson(k: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) CI of a binomial share ``k / n``; non-integer ``k, n`` (an effective sample size)
    use the same beta quantiles."""
    from scipy import stats

    a = (1 - level) / 2
    lo = 0.0 if k <= 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k >= n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _boot_sums(per_cluster: np.ndarray, n_boot: int, seed: int, chunk: int = 100) -> np.ndarray:
    """Sums over ``n_boot`` resamples of the clusters (with replacement): ``(n_boot, columns)`` for a
    ``(clusters, columns)`` array of per-cluster sums."""
    rng = np.random.default_rng([seed, 20261124])  # a stream of its own, not the caller's
    S = len(per_cluster)
    out = np.empty((n_boot, per_cluster.shape[1]))
    for i in range(0, n_boot, chunk):
        idx = rng.integers(0, S, size=(min(chunk, n_boot - i), S))
        out[i:i + len(idx)] = per_cluster[idx].sum(axis=1)
    return out


def share(hits: pd.Series, cluster: pd.Series, *, n_boot: int = 2000, seed: int = 1, level: float = 0.95) -> dict:
    """A share of pairs (e.g. CIs covering the truth), its cluster-bootstrap Monte-Carlo SE (resampling whole
    seeds), the design effect (bootstrap variance / binomial variance), and the exact binomial CI at the effective
    number of pairs ``n / max(1, design effect)``.

    Returns share, n, mc_se (bootstrap by cluster), binomial_se, design_effect, n_eff, ci_low, ci_high
    (proportions, not %).
    """
    h = pd.Series(np.asarray(hits, float), index=np.asarray(cluster))
    g = h.groupby(level=0)
    k_s, n_s = g.sum().to_numpy(), g.size().to_numpy(float)
    n, k = float(n_s.sum()), float(k_s.sum())
    p = k / n
    b = _boot_sums(np.column_stack([k_s, n_s]), n_boot, seed)
    boot = b[:, 0] / b[:, 1]
    mc_se = float(boot.std(ddof=1))
    bin_se = float(np.sqrt(p * (1 - p) / n)) if 0 < p < 1 else 0.0
    deff = (mc_se / bin_se) ** 2 if bin_se > 0 else 1.0
    n_eff = n / max(1.0, deff)
    lo, hi = clopper_pearson(p * n_eff, n_eff, level)
    return {"share": p, "n": int(n), "mc_se": mc_se, "binomial_se": bin_se, "design_effect": deff, "n_eff": n_eff,
            "ci_low": lo, "ci_high": hi}


def sd(z: pd.Series, cluster: pd.Series, *, n_boot: int = 2000, seed: int = 2, level: float = 0.95,
       center: float | None = 0.0) -> dict:
    """Spread of standardised errors ``z`` (root mean square about ``center``, 0 for a null z or an error over
    its SE; ``None``: the ordinary SD about the mean) with a cluster-bootstrap percentile CI (resampling seeds).

    Returns sd, n, mc_se, ci_low, ci_high.
    """
    zz = pd.Series(np.asarray(z, float), index=np.asarray(cluster)).dropna()
    g = zz.groupby(level=0)
    s1, s2, n_s = g.sum().to_numpy(), (zz ** 2).groupby(level=0).sum().to_numpy(), g.size().to_numpy(float)

    def stat(t1, t2, n):
        m1, m2 = t1 / n, t2 / n
        return np.sqrt(m2 if center == 0.0 else m2 - m1 ** 2 if center is None else m2 - 2 * center * m1 + center ** 2)

    est = float(stat(s1.sum(), s2.sum(), n_s.sum()))
    b = _boot_sums(np.column_stack([s1, s2, n_s]), n_boot, seed)
    boot = stat(b[:, 0], b[:, 1], b[:, 2])
    a = (1 - level) / 2
    return {"sd": est, "n": int(n_s.sum()), "mc_se": float(boot.std(ddof=1)),
            "ci_low": float(np.quantile(boot, a)), "ci_high": float(np.quantile(boot, 1 - a))}


def verdict(lo: float, hi: float, band: tuple[float, float]) -> str:
    """``"met"`` (CI inside the band), ``"NOT met"`` (CI wholly outside) or ``"undecided"`` (more seeds needed)."""
    if band[0] <= lo and hi <= band[1]:
        return "met"
    if hi < band[0] or lo > band[1]:
        return "NOT met"
    return "undecided"


def prob_met(n_eff: float, p0: float = 0.95, band: tuple[float, float] = (0.935, 0.965), level: float = 0.95) -> float:
    """Chance that a method with true share ``p0`` is declared ``"met"`` with ``n_eff`` independent pairs (normal
    approximation of the share and of the CI half-width)."""
    se = np.sqrt(p0 * (1 - p0) / n_eff)
    h = _dist.norm_isf((1 - level) / 2) * se
    lo_ok, hi_ok = band[0] + h, band[1] - h
    if lo_ok >= hi_ok:
        return 0.0
    return float(_dist.norm_cdf((hi_ok - p0) / se) - _dist.norm_cdf((lo_ok - p0) / se))


def prob_met_sd(n_eff: float, band: tuple[float, float] = SD_BAND, level: float = 0.95) -> float:
    """Chance that standard-normal z's give an SD declared ``"met"`` with ``n_eff`` independent z's (SE of an SD
    about ``1 / sqrt(2 n)``)."""
    se = 1 / np.sqrt(2 * n_eff)
    h = _dist.norm_isf((1 - level) / 2) * se
    lo_ok, hi_ok = band[0] + h, band[1] - h
    if lo_ok >= hi_ok:
        return 0.0
    return float(_dist.norm_cdf((hi_ok - 1) / se) - _dist.norm_cdf((lo_ok - 1) / se))
