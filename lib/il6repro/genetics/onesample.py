"""Individual-level checks: one-sample two-stage least squares and Steiger directionality.

:func:`tsls` fits ``y_r = a + C b + x theta_r + e`` with ``x`` instrumented by the variants ``Z`` (covariates
``C`` exogenous) for every outcome column at once. By Frisch-Waugh-Lovell everything is first residualised on
``C``; the first stage ``x~ = Z~ pi`` is shared by all outcomes, so the second stage is one matrix product.
Classical ("unadjusted") and heteroskedasticity-robust (HC0 with the small-sample factor n/(n-k)) standard errors
are those of ``linearmodels.IV2SLS(...).fit(cov_type=..., debiased=True)`` (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import _dist
from .._blas import small_blas


def tsls(Y: pd.DataFrame, x: pd.Series, Z: pd.DataFrame, C: pd.DataFrame, *, cov_type: str = "unadjusted",
         alpha: float = 0.05) -> pd.DataFrame:
    """2SLS of each column of ``Y`` on the endogenous ``x`` instrumented by ``Z``, adjusting for ``C``.

    Rows with any missing value in x, Z, C are dropped; each outcome uses its own complete cases.
    Returns one row per outcome: estimate, se, z, p, ci, n, first-stage F (partial, of Z given C) and R^2.
    """
    if cov_type not in ("unadjusted", "robust"):
        raise ValueError(f"cov_type must be 'unadjusted' or 'robust', got {cov_type!r}")
    if Z.shape[1] == 0:
        raise ValueError("tsls: no instruments")
    base = pd.concat([x.rename("_x"), Z, C], axis=1).dropna()
    rows = []
    groups: dict[bytes, list[str]] = {}
    mask = Y.loc[base.index].notna()
    for col in Y.columns:
        groups.setdefault(np.packbits(mask[col].to_numpy()).tobytes(), []).append(col)
    for cols in groups.values():
        idx = base.index[mask[cols[0]].to_numpy()]
        n = len(idx)
        Cm = C.loc[idx].to_numpy(float)
        k = Cm.shape[1] + 1
        q = Z.shape[1]
        if n <= k + q:
            raise ValueError(f"tsls: outcome {cols[0]!r} has {n} participant(s) with complete data, but {k} "
                             f"covariates and {q} instruments need more than {k + q}"
                             f"{f' ({len(cols) - 1} more outcome(s) with the same missingness)' if len(cols) > 1 else ''}")
        # small products (the teaching simulations: 5,000 x 11): BLAS threads cost more CPU to start and spin than
        # they save, most on a shared machine (tsls_estimate 47 -> 7 ms CPU measured), as in assoc.associate;
        # the results are the same (tested)
        flops = 2.0 * n * (k + q + len(cols)) ** 2
        with small_blas(flops):
            Q, _ = np.linalg.qr(Cm)

            def resid(a, Q=Q):
                return a - Q @ (Q.T @ a)

            xr = resid(base.loc[idx, "_x"].to_numpy(float))
            Zr = resid(Z.loc[idx].to_numpy(float))
            Yr = resid(Y.loc[idx, cols].to_numpy(float))
            pi, *_ = np.linalg.lstsq(Zr, xr, rcond=None)
            xhat = Zr @ pi
            sxx = xhat @ xr
            theta = (xhat @ Yr) / sxx
            u = Yr - np.outer(xr, theta)
            dfres = n - k
            if cov_type == "unadjusted":
                se = np.sqrt((u * u).sum(0) / dfres / (xhat @ xhat))
            else:
                se = np.sqrt((xhat[:, None] ** 2 * u * u).sum(0) / sxx ** 2 * n / dfres)
            rss_u = xr @ xr - xhat @ xhat
            f_first = ((xhat @ xhat) / q) / (rss_u / (n - k - q + 1))
            r2_first = float((xhat @ xhat) / (xr @ xr))
        zq = _dist.norm_ppf(1 - alpha / 2)
        for j, col in enumerate(cols):
            z = theta[j] / se[j]
            rows.append({"outcome": col, "estimate": theta[j], "se": se[j], "z": z,
                         "p": 2 * _dist.norm_sf(abs(z)), "ci_low": theta[j] - zq * se[j],
                         "ci_high": theta[j] + zq * se[j], "n": n, "n_instruments": q,
                         "first_stage_F": f_first, "first_stage_R2": r2_first, "cov_type": cov_type})
    return pd.DataFrame(rows)


def r2_from_t(beta, se, n) -> np.ndarray:
    """Unit-free variance explained by a variant from its t statistic: ``t^2 / (t^2 + n - 2)``."""
    t2 = (np.asarray(beta, float) / np.asarray(se, float)) ** 2
    return t2 / (t2 + np.asarray(n, float) - 2)


def steiger(bx, bxse, n_exp, by, byse, n_out) -> dict:
    """Steiger directionality test (TwoSampleMR ``mr_steiger``): is more variance explained in the exposure?

    Per-variant r^2 from t statistics (unit-free), summed over variants; the two correlations compared with
    the test for independent correlations (psych::r.test with n and n2, Fisher z).
    """
    r2x = float(np.sum(r2_from_t(bx, bxse, n_exp)))
    r2y = float(np.sum(r2_from_t(by, byse, n_out)))
    nx = float(np.mean(n_exp))
    ny = float(np.mean(n_out))
    z = (np.arctanh(np.sqrt(min(r2x, 0.9999))) - np.arctanh(np.sqrt(min(r2y, 0.9999)))) / np.sqrt(
        1 / (nx - 3) + 1 / (ny - 3))
    return {"r2_exposure": r2x, "r2_outcome": r2y, "correct_direction": r2x > r2y, "steiger_z": float(z),
            "steiger_p": float(2 * _dist.norm_sf(abs(z)))}
