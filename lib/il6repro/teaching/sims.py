"""Simulators of the course units: each plants a known truth, so a student can compare an estimate with it.

MR (unit a): :func:`mr_power`, :func:`simulate_summary`, :func:`simulate_individual`, :func:`tsls_estimate`.
Imaging transcriptomics (unit b): :func:`smooth_random_maps` (spatially autocorrelated maps on the fsaverage5
sphere that are independent of every real map), :func:`spin_null_correlations`. Cohort (unit c):
:func:`simulate_dilution`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .. import _dist


# ------------------------------------------------------------------------------------------------ MR power
def mr_power(n: int, r2: float, theta: float, alpha: float = 0.05) -> float:
    """Analytic power of two-sample IVW MR for a standardised continuous outcome (Burgess 2014, Int J Epidemiol).

    The non-centrality is ``n * r2 * theta**2`` (``r2``: variance of the exposure explained by the instruments,
    ``theta``: effect per SD of the exposure, outcome in SD units); power is the two-sided normal probability.
    """
    if n <= 0 or not 0 < r2 < 1:
        raise ValueError("need n > 0 and 0 < r2 < 1")
    ncp = np.sqrt(n * r2) * abs(theta)
    z = _dist.norm_isf(alpha / 2)
    return float(_dist.norm_sf(z - ncp) + _dist.norm_cdf(-z - ncp))


def simulate_summary(n: int, r2: float, theta: float, *, n_snps: int = 10, n_rep: int = 1,
                     pleiotropy_mean: float = 0.0, pleiotropy_sd: float = 0.0, eaf: float = 0.3,
                     seed: int = 0) -> pd.DataFrame:
    """Two-sample summary statistics drawn from their sampling distributions (exposure and outcome in SD units).

    ``n_snps`` independent variants share ``r2`` about equally (each coded so that its allele increases the
    exposure, as after harmonisation); the outcome GWAS has the same ``n``. Each variant's
    direct (pleiotropic) effect on the outcome is drawn from N(``pleiotropy_mean``, ``pleiotropy_sd``), in outcome
    SD units, independent of its exposure effect (the InSIDE assumption holds). Returns ``n_rep * n_snps`` rows:
    rep, snp, bx, bxse, by, byse, true_bx, alpha (pleiotropy).
    """
    rng = np.random.default_rng(seed)
    var_g = 2 * eaf * (1 - eaf)
    gamma = rng.uniform(0.5, 1.5, size=(n_rep, n_snps))  # coded exposure-increasing
    gamma *= np.sqrt(r2 / var_g / (gamma ** 2).sum(axis=1, keepdims=True))  # explains exactly r2 in every rep
    alpha_ = rng.normal(pleiotropy_mean, pleiotropy_sd, size=(n_rep, n_snps)) if (pleiotropy_mean or pleiotropy_sd) \
        else np.zeros((n_rep, n_snps))
    se = np.full((n_rep, n_snps), 1 / np.sqrt(n * var_g))
    bx = gamma + rng.normal(0, se)
    by = theta * gamma + alpha_ + rng.normal(0, se)
    return pd.DataFrame({"rep": np.repeat(np.arange(n_rep), n_snps), "snp": np.tile(np.arange(n_snps), n_rep),
                         "bx": bx.ravel(), "bxse": se.ravel(), "by": by.ravel(), "byse": se.ravel(),
                         "true_bx": gamma.ravel(), "alpha": alpha_.ravel()})


# ------------------------------------------------------------------------------------------------ 2SLS
def simulate_individual(n: int, r2: float, theta: float, *, n_snps: int = 10, confounding: float = 0.6,
                        eaf: float = 0.3, seed: int = 0) -> dict:
    """One-sample individual data: genotypes G (n x n_snps), exposure x, outcome y, confounder u.

    x = G gamma + sqrt(1 - r2) (0.8 u + 0.6 e_x) and y = theta x + confounding * u + e_y, so ordinary least squares is biased by the
    confounder; ``r2`` is the variance of x explained by G (the first-stage strength: F ~ 1 + n r2 / n_snps).
    """
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, eaf, size=(n, n_snps)).astype(float)
    var_g = 2 * eaf * (1 - eaf)
    gamma = np.sqrt(r2 / n_snps / var_g) * np.ones(n_snps)
    u = rng.normal(size=n)
    if not 0 < r2 < 1:
        raise ValueError("r2 must be in (0, 1)")
    x = (G - 2 * eaf) @ gamma + np.sqrt(1 - r2) * (0.8 * u + 0.6 * rng.normal(size=n))
    y = theta * x + confounding * u + rng.normal(size=n)
    cols = [f"snp{i}" for i in range(n_snps)]
    return {"G": pd.DataFrame(G, columns=cols), "x": pd.Series(x, name="x"), "y": pd.Series(y, name="y"),
            "u": u, "truth": theta}


def tsls_estimate(sim: dict) -> dict:
    """2SLS (il6repro.genetics.onesample.tsls, intercept only as covariate) and OLS of y on x for one simulation."""
    from .._blas import small_blas
    from ..genetics.onesample import tsls

    C = pd.DataFrame({"const": np.ones(len(sim["x"]))})
    r = tsls(sim["y"].to_frame(), sim["x"], sim["G"], C).iloc[0]
    with small_blas(2.0 * len(sim["x"]) * 2 * 2):  # a least squares of n x 2
        ols = np.polyfit(sim["x"], sim["y"], 1)[0]
    return {"tsls": float(r["estimate"]), "tsls_se": float(r["se"]), "F": float(r["first_stage_F"]),
            "ols": float(ols)}


# ------------------------------------------------------------------------------------------------ dilution
def simulate_dilution(n_persons: int, rr_true: float, reliability: float, *, n_measures: int = 2,
                      base_risk: float = 0.4, seed: int = 0) -> pd.DataFrame:
    """Cases whose resolution depends on *usual* (long-term) IL-6 while IL-6 is measured with error.

    log IL-6 = usual + noise, with ``reliability`` = var(usual) / var(measured) (the intraclass correlation of
    repeated measures). "Low" is below the median; the risk of resolution is ``base_risk`` times ``rr_true`` if
    usual IL-6 is low. Returns one row per person with stno, age, female, resolved, low_usual, low_1 (one
    measure) and low_mean (the mean of ``n_measures`` measures).
    """
    if not 0 < reliability <= 1:
        raise ValueError("reliability must be in (0, 1]")
    rng = np.random.default_rng(seed)
    usual = rng.normal(size=n_persons)
    noise_sd = np.sqrt(1 / reliability - 1)
    meas = usual[:, None] + rng.normal(0, noise_sd, size=(n_persons, n_measures))
    low_usual = (usual < np.median(usual)).astype(int)
    p = base_risk * np.where(low_usual == 1, rr_true, 1.0)
    resolved = rng.binomial(1, np.clip(p, 0, 1))
    one, mean = meas[:, 0], meas.mean(axis=1)
    return pd.DataFrame({"stno": np.arange(n_persons), "age": rng.normal(55, 6, n_persons),
                         "female": rng.binomial(1, 0.3, n_persons), "resolved": resolved, "low_usual": low_usual,
                         "low_1": (one < np.median(one)).astype(int), "low_mean": (mean < np.median(mean)).astype(int)})


# ------------------------------------------------------------------------------------ smooth random maps
@lru_cache(maxsize=2)
def _harmonic_basis(lmax: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Real spherical harmonics of degree 1..lmax at the fsaverage5 sphere vertices, per hemisphere.

    Returns ``{hemi: (Y, degree)}`` with ``Y`` of shape (vertices, (lmax + 1)^2 - 1), orthonormal up to the
    sampling of the sphere, and the degree ``l`` of each column.
    """
    from scipy.special import sph_harm_y_all

    from ..brain import sphere_coords

    out = {}
    done = []  # (coordinates, result): fsaverage5's two spheres are the same points, so the basis is made once
    for hemi, xyz in sphere_coords().items():
        same = next((res for xyz0, res in done if np.array_equal(xyz0, xyz)), None)
        if same is not None:  # identical input, identical (deterministic) output
            out[hemi] = same
            continue
        r = np.linalg.norm(xyz, axis=1)
        theta = np.arccos(np.clip(xyz[:, 2] / r, -1, 1))
        phi = np.arctan2(xyz[:, 1], xyz[:, 0])
        Y = sph_harm_y_all(lmax, lmax, theta, phi)  # (l, m) with m >= 0 in the first lmax + 1 slots
        cols, deg = [], []
        for ell in range(1, lmax + 1):
            cols.append(Y[ell, 0].real)
            deg.append(ell)
            for m in range(1, ell + 1):
                cols += [np.sqrt(2) * Y[ell, m].real, np.sqrt(2) * Y[ell, m].imag]
                deg += [ell, ell]
        out[hemi] = (np.column_stack(cols), np.array(deg))
        done.append((xyz, out[hemi]))
    return out


def smooth_random_maps(n_maps: int, fwhm_deg: float, *, seed: int = 0, lmax: int = 30, labels=None,
                       regions=None) -> pd.DataFrame:
    """Random cortical maps with a chosen spatial smoothness, parcellated to the 68 Desikan-Killiany regions.

    Each map is an isotropic Gaussian random field on the fsaverage5 sphere (each hemisphere drawn
    independently) whose autocorrelation is the heat kernel of full width at half maximum ``fwhm_deg`` degrees of
    arc: two points ``fwhm_deg / 2`` apart correlate about 0.5 (on the 100 mm fsaverage sphere, 1 degree is about
    1.75 mm). It is drawn in the real spherical-harmonic basis up to degree ``lmax``, coefficients of degree l with
    SD ``exp(-l(l + 1) s^2 / 4)``, ``s = fwhm / sqrt(8 ln 2)`` in radians (angular power ``exp(-l(l + 1) s^2 / 2)``);
    the constant term is left out. Each DK region then takes the mean of its vertices, as the AHBA and ENIGMA maps do.
    The maps are independent of every real map by construction, so any correlation with one is a false positive.

    Returns a DataFrame of 68 regions (``L_bankssts`` ... as the AHBA matrix) x ``n_maps`` columns ``map0``...
    """
    if n_maps < 1:
        raise ValueError(f"n_maps must be >= 1, got {n_maps}")
    s = np.deg2rad(fwhm_deg) / np.sqrt(8 * np.log(2))
    if np.exp(-lmax * (lmax + 1) * s ** 2 / 4) > 0.05:
        raise ValueError(f"fwhm_deg={fwhm_deg} is too fine for lmax={lmax}: the harmonic expansion would be cut "
                         f"off while still large; use fwhm_deg >= {np.rad2deg(np.sqrt(4 * np.log(20) / (lmax * (lmax + 1))) * np.sqrt(8 * np.log(2))):.0f} or a larger lmax")
    from ..data.tables import load_dk_regions, load_dk_surface

    labels = labels if labels is not None else load_dk_surface()
    regions = regions if regions is not None else load_dk_regions()
    rng = np.random.default_rng(seed)
    basis = _harmonic_basis(lmax)
    cols = {}
    ctx = regions[regions["structure"] == "cortex"]
    for hemi, short in (("left", "L"), ("right", "R")):
        Y, deg = basis[hemi]
        coef = rng.normal(size=(len(deg), n_maps)) * np.exp(-deg * (deg + 1) * s ** 2 / 4)[:, None]
        # a region's mean of the maps is its mean of the basis times the coefficients: 68 rows instead of 10,242
        # vertices per map (the same numbers to rounding, ~1e-16 of the maps' SD)
        names, rows = [], []
        for r in ctx[ctx["hemisphere"] == short].itertuples():
            sel = labels[hemi] == int(r.id)
            if sel.any():
                names.append(f"{short}_{r.label}")
                rows.append(Y[sel].mean(axis=0))
        if names:
            cols.update(zip(names, np.stack(rows) @ coef, strict=True))
    return pd.DataFrame(cols, index=[f"map{i}" for i in range(n_maps)]).T


def spin_null_correlations(null: np.ndarray | pd.DataFrame, maps: np.ndarray | pd.DataFrame) -> np.ndarray:
    """Pearson r of every spun map (rows of ``null``, regions in columns, NaN where a parcel was spun onto the
    medial wall) with every column of ``maps`` (regions x maps, finite), over the regions finite in the row.

    Returns ``(n_rot, n_maps)``; the same numbers as ``scipy.stats.pearsonr`` pair by pair, one row at a time.
    """
    N = np.asarray(null, float)
    M = np.asarray(maps, float)
    if M.ndim == 1:
        M = M[:, None]
    if N.shape[1] != M.shape[0]:
        raise ValueError(f"null has {N.shape[1]} regions, maps {M.shape[0]}")
    if not np.isfinite(M).all():
        raise ValueError("maps must be finite in every region (drop regions with missing values first)")
    out = np.full((len(N), M.shape[1]), np.nan)
    for i, row in enumerate(N):
        ok = np.isfinite(row)
        if ok.sum() < 3:
            continue
        a = row[ok] - row[ok].mean()
        B = M[ok] - M[ok].mean(axis=0)
        out[i] = (a @ B) / np.sqrt((a @ a) * (B * B).sum(axis=0))
    return out
