"""Study V analyses: case-observations (GHQ cases at an IL-6 phase), risk ratios of symptom resolution by IL-6, repeated
exposure, and IL-6 change with resolution (Virtanen et al. 2015).

Input is the wide Whitehall table of :mod:`il6repro.twins.whitehall` (the twin or a real extract in that layout).

* A **case-observation** (a row of :func:`person_observations`) is a GHQ case (score >= ``case_threshold``) at an
  IL-6 phase (3, 5 or 7) with IL-6 measured there, followed to the next attended GHQ examination (``resolution="next"``, default) or to the last
  attended one (``"last"``); the outcome is *resolution* = not a case there. Cases with no later GHQ examination
  leave (counted in the flow table). One person contributes up to three observations.
* **Low vs high IL-6**: below vs at or above the cut-off at the baseline phase (default the phase median of all
  measured values, an assumption: the abstract gives no cut-off; or a fixed value in pg/mL).
* **Risk ratios**: log-link Poisson regression with cluster-robust (person) variance, as R
  ``glm(family = poisson) + sandwich::vcovCL(cluster = ~stno, type = "HC1")`` (R's default for a glm is
  ``type = "HC0"``, smaller by the factor ``(N - K) / (N - 1)``; both apply the cluster adjustment ``G / (G - 1)``),
  and GEE (Poisson, log link, exchangeable working correlation within person, robust variance), as
  ``geepack::geeglm``. Small-sample corrections of the cluster sandwich (Kauermann-Carroll = ``vcovCL`` type HC2,
  Mancl-DeRouen = type HC3) are available through ``vcov=`` and are compared in ``benchmarks/calibrate_cohort.py``.
* **Follow-up**: :func:`followup_definitions` computes the mean follow-up under each candidate definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _dist
from ._blas import small_blas
from .governance import MIN_CELL
from .twins.whitehall import GHQ_PHASES, IL6_PHASES

AGE_SEX = ["age", "female"]
FULL = ["age", "female", "grade_2", "grade_3", "smoke", "bmi", "chronic", "meds"]
# the covariates in a reader's words (data_manifest/whitehall/layout.yaml); the two grade dummies are one covariate
COVARIATE_WORDS = {"age": "age", "female": "sex", "grade_2": "employment grade", "grade_3": "employment grade",
                   "smoke": "current smoking", "bmi": "body-mass index",
                   "chronic": "chronic disease (coronary heart disease, diabetes or cancer)",
                   "meds": "anti-inflammatory or antidepressant medication"}


def covariate_words(names: list[str]) -> str:
    """The covariate columns as a reader's list: ``['age', 'female', 'grade_2', 'grade_3']`` -> 'age, sex and
    employment grade'. A name outside the table (a user's own column) is kept as it is."""
    words = list(dict.fromkeys(COVARIATE_WORDS.get(c, c) for c in names))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class CohortError(ValueError):
    """The cohort table cannot give the requested analysis (names the problem)."""


def person_observations(df: pd.DataFrame, *, case_threshold: int = 5, resolution: str = "next",
                        il6_cut: str | float = "median") -> pd.DataFrame:
    """One row per GHQ case at an IL-6 phase with IL-6 measured and a later GHQ examination.

    Columns: stno, phase, age, female, grade_2, grade_3, smoke, bmi, chronic, meds, il6, log_il6, low (1 = below
    the cut-off), low_prev (at the previous IL-6 phase; NaN when not measured or no previous phase), resolved,
    followup_phase, baseline_date, followup_years. ``.attrs``: ``flow`` (who enters and leaves, per phase),
    ``cuts`` (IL-6 cut-off per phase), ``case_threshold`` and ``resolution`` (the rules used).
    """
    if resolution not in ("next", "last"):
        raise ValueError(f"resolution must be 'next' or 'last', got {resolution!r}")
    cuts = {}
    for ph in IL6_PHASES:
        if il6_cut != "median":
            cuts[ph] = float(il6_cut)
            continue
        x = df[f"il6_p{ph}"]
        if isinstance(x.dtype, np.dtype) and x.dtype.kind == "f":  # pandas' median of a float column is numpy's
            v = x.to_numpy()  # median of its present values (nanops.nanmedian; tested equal)
            v = v[~np.isnan(v)]
            if len(v) == 0:
                raise CohortError(f"no IL-6 values at phase {ph}")
            cuts[ph] = float(np.median(v))
        else:
            v = x.dropna()
            if v.empty:
                raise CohortError(f"no IL-6 values at phase {ph}")
            cuts[ph] = float(v.median())
    rows, flow = [], []
    arr: dict[tuple[str, bool], np.ndarray] = {}

    def col(c, num=False):  # a column as an array (as floats for masks and comparisons, NaN for missing), read
        if (c, num) not in arr:  # from the table once: not a filtered copy of the table per phase
            arr[c, num] = df[c].to_numpy(dtype=float, na_value=np.nan) if num else df[c].to_numpy()
        return arr[c, num]

    for i, ph in enumerate(IL6_PHASES):
        ghq = col(f"ghq_p{ph}", True)
        att = ~np.isnan(ghq)
        with np.errstate(invalid="ignore"):
            cases = att & (ghq >= case_threshold)
        with_il6 = cases & ~np.isnan(col(f"il6_p{ph}", True))
        later = [p for p in GHQ_PHASES if p > ph]
        scores = np.column_stack([col(f"ghq_p{p}", True) for p in later])
        seen = ~np.isnan(scores)
        has_fu = seen.any(axis=1)
        keep = with_il6 & has_fu
        flow.append({"phase": ph, "attended GHQ": int(att.sum()), "GHQ cases": int(cases.sum()),
                     "IL-6 measured": int(with_il6.sum()), "no IL-6 (excluded)": int((cases & ~with_il6).sum()),
                     "no later GHQ (excluded)": int((with_il6 & ~has_fu).sum()), "case-observations": int(keep.sum())})
        if not keep.any():
            continue
        k = keep
        s_k, seen_k = scores[k], seen[k]
        j = seen_k.argmax(axis=1) if resolution == "next" else seen_k.shape[1] - 1 - seen_k[:, ::-1].argmax(axis=1)
        r = np.arange(len(j))
        fu_phase = np.asarray(later)[j]
        fu_score = s_k[r, j]
        fu_date = np.column_stack([col(f"date_p{p}", True)[k] for p in later])[r, j]
        prev = IL6_PHASES[i - 1] if i > 0 else None
        il6 = col(f"il6_p{ph}")[k]
        base_date = col(f"date_p{ph}", True)[k]
        if prev:
            il6_prev = col(f"il6_p{prev}", True)[k]
            with np.errstate(invalid="ignore"):
                low_prev = np.where(np.isnan(il6_prev), np.nan, (il6_prev < cuts[prev]).astype(float))
        m = int(k.sum())
        rows.append({
            "stno": col("stno")[k], "phase": np.full(m, ph), "age": col(f"age_p{ph}")[k],
            "female": (col("sex", True)[k] == 2).astype(int),
            "grade_2": (col("grade_p1", True)[k] == 2).astype(int),
            "grade_3": (col("grade_p1", True)[k] == 3).astype(int),
            "smoke": col(f"smoke_p{ph}")[k], "bmi": col(f"bmi_p{ph}")[k],
            "chronic": col(f"chronic_p{ph}")[k], "meds": col(f"meds_p{ph}")[k],
            "il6": il6, "log_il6": np.log(il6), "low": (col(f"il6_p{ph}", True)[k] < cuts[ph]).astype(int),
            "low_prev": low_prev if prev else np.full(m, np.nan),
            "resolved": (fu_score < case_threshold).astype(int),
            "followup_phase": fu_phase.astype(int),
            "baseline_date": base_date,
            "followup_years": fu_date - base_date})
    if not rows:
        raise CohortError("no GHQ case at an IL-6 phase has IL-6 measured and a later GHQ examination")
    # one frame of the phases' columns end to end (what concatenating a frame per phase gives)
    obs = pd.DataFrame({c: np.concatenate([r[c] for r in rows]) for c in rows[0]})
    obs.attrs["flow"] = pd.DataFrame(flow).set_index("phase")
    obs.attrs["cuts"] = cuts
    obs.attrs["case_threshold"] = case_threshold
    obs.attrs["resolution"] = resolution
    return obs


def _design(obs: pd.DataFrame, exposure: str, covariates: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    cols = [exposure, *covariates]
    missing = [c for c in cols + ["resolved", "stno"] if c not in obs.columns]
    if missing:
        raise CohortError(f"missing column(s) {missing}")
    d = obs.dropna(subset=cols + ["resolved"])
    if d.empty:
        raise CohortError("no complete observations for this model")
    X = d[cols].astype(float).copy()
    if "age" in X:
        X["age"] = X["age"] - 55.0  # centred, so the intercept is a risk at 55
    X.insert(0, "const", 1.0)
    return X, d


VCOV_TYPES = {"poisson": ("HC1", "HC0", "KC", "MD"), "gee": ("robust", "MD")}


def _flops(X) -> float:
    """The products of one pass over a design (n x k): 2 n k^2."""
    n, k = np.shape(X)
    return 2.0 * n * k * k


def _model_inputs(obs: pd.DataFrame, exposure: str, covariates: list[str], method: str, vcov: str | None):
    """:func:`fit_model`'s checked inputs: the variance type, the design, the complete observations, the outcome and
    the person of each row."""
    if method not in VCOV_TYPES:
        raise ValueError(f"method must be 'poisson' or 'gee', got {method!r}")
    vcov = vcov or VCOV_TYPES[method][0]
    if vcov not in VCOV_TYPES[method]:
        raise ValueError(f"vcov for method={method!r} must be one of {VCOV_TYPES[method]}, got {vcov!r}")
    X, d = _design(obs, exposure, covariates)
    y = d["resolved"].astype(float)
    groups = d["stno"].to_numpy()
    if y.nunique() < 2 or X[exposure].nunique() < 2:
        raise CohortError(f"{exposure}: needs both exposure groups and both outcomes")
    return vcov, X, d, y, groups


def _model_arrays(obs: pd.DataFrame, exposure: str, covariates: list[str], method: str, vcov: str | None):
    """:func:`_model_inputs` as arrays, without its frames (~1 ms a model): the variance type, the design (the same
    float64 values in the same column-major layout as ``X.to_numpy()``), the outcome, the person of each row, the
    number of complete observations. None when a column is missing, repeated or not a plain numeric one, when no
    observation is complete or either exposure group or outcome is absent: :func:`_model_inputs` then decides (and
    names the problem)."""
    if method not in VCOV_TYPES or (vcov or VCOV_TYPES[method][0]) not in VCOV_TYPES[method]:
        return None
    cols = [exposure, *covariates]
    if len(set(cols + ["resolved", "stno"])) < len(cols) + 2 or not all(c in obs.columns for c in cols + ["resolved",
                                                                                                         "stno"]):
        return None
    values = [obs[c].to_numpy() for c in cols + ["resolved"]]
    if not all(isinstance(v, np.ndarray) and v.dtype.kind in "biuf" for v in values):
        return None
    keep = np.ones(len(obs), bool)
    for v in values:  # dropna(subset=...): a row missing any of them is left out
        if v.dtype.kind == "f":
            keep &= ~np.isnan(v)
    if not keep.any():
        return None
    every = keep.all()
    X = np.empty((int(keep.sum()), len(cols) + 1), order="F")
    X[:, 0] = 1.0
    for k, (c, v) in enumerate(zip(cols, values, strict=False), 1):
        x = (v if every else v[keep]).astype(float)
        X[:, k] = x - 55.0 if c == "age" else x  # centred, as _design
    y = (values[-1] if every else values[-1][keep]).astype(float)
    groups = obs["stno"].to_numpy()
    groups = groups if every else groups[keep]
    if len(np.unique(y)) < 2 or len(np.unique(X[:, 1])) < 2:
        return None
    return vcov or VCOV_TYPES[method][0], X, y, groups, len(y)


def _poisson_estimate(obs: pd.DataFrame, exposure: str, covariates: list[str], vcov: str | None):
    """The exposure's log RR, its SE and the counts of :func:`fit_model` (Poisson), the model fitted on arrays:
    statsmodels does the same arithmetic without building labelled results (the same numbers, tested); the design
    from :func:`_model_arrays` where it applies (the same arrays, tested)."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    arrays = _model_arrays(obs, exposure, covariates, "poisson", vcov)
    if arrays is None:
        vcov, Xd, d, yd, groups = _model_inputs(obs, exposure, covariates, "poisson", vcov)
        X, y, n_obs, j = Xd.to_numpy(), yd.to_numpy(), len(d), Xd.columns.get_loc(exposure)
    else:
        vcov, X, y, groups, n_obs = arrays
        j = 1
    with small_blas(_flops(X)):  # as in fit_model
        fit = GLM(y, X, family=families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": groups})
        V = fit.cov_params() if vcov == "HC1" else cluster_vcov(X, y, fit.params, groups, vcov)
    return float(fit.params[j]), float(np.sqrt(np.diag(np.asarray(V)))[j]), (int(n_obs), int(pd.Series(groups).nunique()))


def _gee_fit(X: np.ndarray, y: np.ndarray, groups: np.ndarray, vcov: str, *, maxiter: int = 200,
             ctol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_model`'s GEE (Poisson/log, exchangeable within person, ``ddof_scale=0``) on arrays: the estimates
    and the ``"robust"`` or ``"MD"`` covariance.

    statsmodels' ``GEE.fit`` step for step, with each pass over the persons done as grouped sums instead of a Python
    loop over persons (~25 us each, 2,000 persons, two dozen iterations: 1.5 s a fit): the same start (the Poisson
    GLM), Fisher-scoring update, stopping rule (score norm < ``ctol`` after at least one update of the correlation),
    moment estimators of the scale and the correlation, sandwich and Mancl-DeRouen covariance. The sums are taken
    in another order, so the numbers equal statsmodels' to rounding (tested to 1e-10), not to the bit.
    """
    import warnings

    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    order = np.argsort(groups, kind="stable")
    X, y, g = X[order], y[order], groups[order]
    first = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(first)
    size = np.diff(np.r_[starts, len(g)])
    n, k = X.shape
    pairs = float(np.sum(0.5 * size * (size - 1)))

    def gsum(a):  # per-person sums of the rows of a
        return np.add.reduceat(a, starts, axis=0)

    b = np.asarray(GLM(y, X, family=families.Poisson()).fit().params, float)
    rho = 0.0

    def parts(b, rho):
        mu = np.exp(X @ b)
        s = np.sqrt(mu)
        A = X * s[:, None]  # D / sdev, D = X mu (log link)
        e = (y - mu) / s
        c = rho / (1.0 - rho) / (1.0 + rho * (size - 1))  # V^-1 = (I/(1 - rho) - c 11') / sdev's, per person
        SA, SE = gsum(A), gsum(e)
        bmat = A.T @ A / (1.0 - rho) - (SA * c[:, None]).T @ SA
        U = gsum(A * e[:, None]) / (1.0 - rho) - SA * (c * SE)[:, None]  # each person's D'V^-1 r
        return mu, e, c, bmat, U

    updates, norm = 0, -1.0
    for _ in range(maxiter):
        mu, e, c, bmat, U = parts(b, rho)
        score = U.sum(0)
        try:
            step = np.linalg.solve(bmat, score)
        except np.linalg.LinAlgError:
            step = np.linalg.pinv(bmat) @ score
        b = b + step
        mu, e, c, bmat, U = parts(b, rho)
        norm = float(np.sqrt(np.sum(score ** 2)))
        if norm < ctol and updates > 0:
            break
        # the exchangeable correlation's moment estimator (statsmodels Exchangeable.update, ddof 0)
        scale = np.sum(e * e) / n
        rho = float(np.sum((gsum(e) ** 2 - gsum(e * e)) / 2) / scale / pairs) if pairs else 0.0
        updates += 1
    if norm >= ctol:
        warnings.warn(f"GEE: the score norm is {norm:.2g} after {maxiter} iterations, above {ctol:g}", stacklevel=3)
    mu, e, c, bmat, U = parts(b, rho)
    try:
        naive = np.linalg.inv(bmat)
    except np.linalg.LinAlgError:
        naive = np.linalg.pinv(bmat)
    if vcov == "robust":
        return b, naive @ (U.T @ U) @ naive
    # Mancl-DeRouen (statsmodels cov_type="bias_reduced"): each person's residuals premultiplied by (I - H_i)^-1,
    # H_i = D_i N D_i' V_i^-1; persons of one size at once, as a stack of m x m problems
    s = np.sqrt(mu)
    D, r = X * mu[:, None], y - mu
    B = np.zeros((len(starts), k))
    for m in np.unique(size):
        who = np.flatnonzero(size == m)
        idx = starts[who][:, None] + np.arange(m)[None, :]
        Dg, sg, rg, cg = D[idx], s[idx, None], r[idx, None], c[who, None, None]
        H = np.einsum("gik,kl,gjl->gji", _vinv(Dg, sg, rho, cg), naive, Dg)  # (V^-1 D N D')' = D N D' V^-1
        adj = np.linalg.solve(np.eye(m)[None] - H, rg)
        B[who] = np.einsum("gik,gi->gk", Dg, _vinv(adj, sg, rho, cg)[..., 0])
    return b, naive @ (B.T @ B) @ naive


def _vinv(x: np.ndarray, sd: np.ndarray, rho: float, c: np.ndarray) -> np.ndarray:
    """``V^-1 x`` for a stack of persons of one size: ``x`` (persons, m, columns), ``sd`` (persons, m, 1) the
    outcomes' SDs, ``c`` (persons, 1, 1) as in :func:`_gee_fit` (statsmodels ``Exchangeable.covariance_matrix_solve``)."""
    x1 = x / sd
    return (x1 / (1.0 - rho) - c * x1.sum(1, keepdims=True)) / sd


def _gee_estimate(obs: pd.DataFrame, exposure: str, covariates: list[str], vcov: str | None):
    """The exposure's log RR, its SE and the counts of :func:`fit_model` (GEE), by :func:`_gee_fit`."""
    vcov, X, d, y, groups = _model_inputs(obs, exposure, covariates, "gee", vcov)
    with small_blas(_flops(X)):  # as in fit_model
        b, V = _gee_fit(X.to_numpy(), y.to_numpy(), groups, vcov)
    j = X.columns.get_loc(exposure)
    return float(b[j]), float(np.sqrt(V[j, j])), (int(len(d)), int(pd.Series(groups).nunique()))


def fit_model(obs: pd.DataFrame, exposure: str = "low", covariates: list[str] = AGE_SEX, *,
              method: str = "poisson", vcov: str | None = None):
    """The fitted statsmodels model behind :func:`risk_ratio` (all terms; age centred at 55).

    ``method="poisson"``: GLM Poisson/log with cluster-robust variance by person (statsmodels ``cov_type="cluster"``,
    small-sample factor ``G/(G-1) * (N-1)/(N-K)`` = R ``sandwich::vcovCL(type = "HC1")``). ``"gee"``: GEE
    Poisson/log, exchangeable working correlation within person, robust variance, scale and correlation by the
    moment estimators without degrees-of-freedom correction (``ddof_scale=0``) = R ``geepack::geeglm(corstr =
    "exchangeable")`` run to convergence (tested to 1e-6 against both R packages).

    ``vcov`` picks the variance (default ``"HC1"`` for Poisson, ``"robust"`` for GEE): for Poisson also ``"HC0"``,
    ``"KC"`` (Kauermann-Carroll) and ``"MD"`` (Mancl-DeRouen), see :func:`cluster_vcov`; for GEE also ``"MD"``
    (statsmodels ``cov_type="bias_reduced"``). The returned fit's ``bse`` is the chosen one; the covariance matrix
    is ``fit.il6repro_vcov``.
    """
    # the modules themselves, not statsmodels.api (which imports every statsmodels subpackage: ~0.5 s more)
    from statsmodels.genmod import cov_struct, families
    from statsmodels.genmod.generalized_estimating_equations import GEE
    from statsmodels.genmod.generalized_linear_model import GLM

    vcov, X, d, y, groups = _model_inputs(obs, exposure, covariates, method, vcov)
    # one BLAS thread for these small fits (thousands of rows x ~10 terms, IRLS iterations): threads cost more CPU
    # to start and spin than they save, most on a shared machine (one Whitehall draw, simulation and fits, with all
    # of BLAS on one thread instead of two: 0.28 -> 0.13 s CPU; the over-seeds workers already ran on one);
    # the same numbers (tested against two threads)
    with small_blas(_flops(X)):
        if method == "poisson":
            fit = GLM(y, X, family=families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": groups})
            V = fit.cov_params() if vcov == "HC1" else cluster_vcov(X, y, fit.params, groups, vcov)
        else:
            order = np.argsort(groups, kind="stable")  # GEE wants each person's rows together
            fit = GEE(y.iloc[order], X.iloc[order], groups=groups[order], family=families.Poisson(),
                      cov_struct=cov_struct.Exchangeable()).fit(
                ddof_scale=0, maxiter=200, ctol=1e-12, cov_type="robust" if vcov == "robust" else "bias_reduced")
            V = fit.cov_params()
    fit.il6repro_vcov = pd.DataFrame(np.asarray(V), index=X.columns, columns=X.columns)
    fit.il6repro_bse = pd.Series(np.sqrt(np.diag(np.asarray(V))), index=X.columns)
    fit.il6repro_n = (int(len(d)), int(pd.Series(groups).nunique()))
    return fit


def cluster_vcov(X: pd.DataFrame, y: pd.Series, params: pd.Series, groups: np.ndarray, type: str = "HC0") -> pd.DataFrame:
    """Cluster-robust covariance of a Poisson/log GLM, as R ``sandwich::vcovCL(fit, cluster = groups, type)``.

    ``type``: ``"HC0"`` (``G/(G-1)`` cluster adjustment only, R's default for a glm), ``"HC1"`` (also
    ``(N-1)/(N-K)``), ``"KC"`` (Kauermann & Carroll 2001: each cluster's working residuals premultiplied by
    ``(I - H_gg)^(-1/2)``, R type ``"HC2"``) or ``"MD"`` (Mancl & DeRouen 2001: by ``(I - H_gg)^(-1)``, R type
    ``"HC3"``), with ``H_gg = X_g (X'WX)^(-1) X_g' W_g`` the cluster's block of the GLM hat matrix (``W = diag(mu)``).
    As in R, the two corrected types carry no ``G/(G-1)`` factor. Tested to 1e-8 against R (tests/references).
    """
    Xa = np.asarray(X, float)
    mu = np.exp(Xa @ np.asarray(params, float))
    res = np.asarray(y, float) - mu  # working residual x working weight, for the canonical log link
    bread = np.linalg.inv(Xa.T @ (Xa * mu[:, None]))
    n, k = Xa.shape
    codes, first = pd.factorize(pd.Series(groups))
    G = len(first)
    if type in ("HC0", "HC1"):
        U = np.zeros((G, k))
        np.add.at(U, codes, Xa * res[:, None])
        meat = U.T @ U * G / (G - 1)
        if type == "HC1":
            meat *= (n - 1) / (n - k)
    elif type in ("KC", "MD"):
        U = np.zeros((G, k))
        power = -0.5 if type == "KC" else -1.0
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes, minlength=G)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for m in np.unique(sizes):  # clusters of one size at once: a stack of m x m problems
            gs = np.flatnonzero(sizes == m)
            idx = order[start[gs][:, None] + np.arange(m)[None, :]]  # (clusters, m) row numbers
            xg, wg, rg = Xa[idx], mu[idx], res[idx]
            sw = np.sqrt(wg)
            xs = xg * sw[..., None]
            Hs = np.einsum("gik,kl,gjl->gij", xs, bread, xs)  # symmetric form W^1/2 X B X' W^1/2
            lam, vec = np.linalg.eigh(np.eye(m)[None] - Hs)
            A = np.einsum("gik,gk,gjk->gij", vec, np.clip(lam, 1e-12, None) ** power, vec)
            adj = np.einsum("gij,gj->gi", A, rg * sw) / sw  # W^-1/2 f(I - Hs) W^1/2 r = f(I - H) r
            U[gs] = np.einsum("gik,gi->gk", xg, adj)
        meat = U.T @ U
    else:
        raise ValueError(f"type must be 'HC0', 'HC1', 'KC' or 'MD', got {type!r}")
    V = bread @ meat @ bread
    cols = list(X.columns) if hasattr(X, "columns") else list(range(k))
    return pd.DataFrame(V, index=cols, columns=cols)


def risk_ratio(obs: pd.DataFrame, exposure: str = "low", covariates: list[str] = AGE_SEX, *,
               method: str = "poisson", alpha: float = 0.05, vcov: str | None = None) -> dict:
    """Risk ratio of resolution for ``exposure`` (1 vs 0), adjusted for ``covariates`` (see :func:`fit_model`).

    The model is :func:`fit_model`'s, fitted on arrays: the Poisson GLM by statsmodels without labelled results (the
    same numbers to the bit), the GEE by :func:`_gee_fit` (statsmodels' GEE algorithm as grouped sums: its numbers
    to 1e-10, ~50x faster). Both are tested against ``fit_model``.

    Returns rr, ci_low, ci_high, log_rr, se (robust, of log RR), p, n_obs, n_persons, method, vcov, covariates.
    """
    try:
        if method == "poisson":
            b, se, (n_obs, n_persons) = _poisson_estimate(obs, exposure, covariates, vcov)
        elif method == "gee":
            b, se, (n_obs, n_persons) = _gee_estimate(obs, exposure, covariates, vcov)
        else:
            _model_inputs(obs, exposure, covariates, method, vcov)  # names the bad method
    except np.linalg.LinAlgError:  # a singular design: too few observations for the covariates (aggregates only)
        x = obs[exposure] if exposure in obs else pd.Series(dtype=float)
        raise CohortError(
            f"risk ratio of {exposure!r} ({method}, adjusted for {', '.join(covariates) or 'nothing'}): the model "
            f"cannot be fitted on {len(obs):,} case-observations ({int((x == 1).sum()):,} exposed, "
            f"{int((x == 0).sum()):,} not): too few, or a covariate constant among them; a larger extract is needed "
            "for this analysis") from None
    if not (np.isfinite(b) and np.isfinite(se) and abs(b) < 10 and se < 10):  # RR beyond e^10 or an SE in the
        # thousands: the fit ran off (separation in a small extract), and its numbers would read as a finding
        raise CohortError(f"risk ratio of {exposure!r} ({method}, adjusted for {', '.join(covariates) or 'nothing'}) "
                          f"did not converge on {len(obs):,} case-observations (log RR {b:.3g}, SE {se:.3g}): too "
                          "few for this model; a larger extract is needed for this analysis")
    z = _dist.norm_isf(alpha / 2)
    return {"rr": float(np.exp(b)), "ci_low": float(np.exp(b - z * se)), "ci_high": float(np.exp(b + z * se)),
            "log_rr": b, "se": se, "p": float(2 * _dist.norm_sf(abs(b / se))), "n_obs": n_obs,
            "n_persons": n_persons, "method": method, "vcov": vcov or VCOV_TYPES[method][0],
            "covariates": list(covariates)}


def repeated_exposure(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations with IL-6 at this and the previous IL-6 phase, low at both (``repeated_low`` = 1) or high at
    both (0); mixed patterns are left out."""
    d = obs.dropna(subset=["low_prev"]).copy()
    d = d[d["low"] == d["low_prev"]]
    if d.empty:
        raise CohortError("no observation has IL-6 at two consecutive IL-6 phases with the same category")
    d["repeated_low"] = d["low"].astype(int)
    return d


def il6_change(df: pd.DataFrame, obs: pd.DataFrame, case_threshold: int | None = None) -> pd.DataFrame:
    """Among high-IL-6 cases at phases 3 and 5, the change in log IL-6 to the next IL-6 phase by whether the case
    has resolved at that phase (GHQ below ``case_threshold`` there; default: the threshold ``obs`` was built with).
    Returns one row per observation: stno, phase, change, resolved_at_next."""
    thr = obs.attrs.get("case_threshold", 5) if case_threshold is None else case_threshold
    rows = []
    people = pd.Index(df["stno"])
    phase, low, stno = obs["phase"].to_numpy(), obs["low"].to_numpy(), obs["stno"].to_numpy()
    log_il6 = obs["log_il6"].to_numpy()
    for ph, nxt in ((3, 5), (5, 7)):
        m = (phase == ph) & (low == 0)
        pos = people.get_indexer(stno[m]) if people.is_unique else None
        if pos is None or (pos < 0).any():  # a person twice in the table, or missing: pandas' lookup (and its error)
            s = df.set_index("stno").loc[stno[m]]
            il6, ghq = s[f"il6_p{nxt}"].to_numpy(), s[f"ghq_p{nxt}"].to_numpy()
        else:  # each observation's row of the table, by position
            il6, ghq = df[f"il6_p{nxt}"].to_numpy()[pos], df[f"ghq_p{nxt}"].to_numpy()[pos]
        ok = ~pd.isna(il6) & ~pd.isna(ghq)
        if not ok.any():
            continue
        rows.append(pd.DataFrame({
            "stno": stno[m][ok], "phase": ph,
            "change": np.log(il6[ok]) - log_il6[m][ok],
            "resolved_at_next": (ghq[ok] < thr).astype(int)}))
    if not rows:
        raise CohortError("no high-IL-6 case has IL-6 and GHQ at the next IL-6 phase")
    return pd.concat(rows, ignore_index=True)


def change_difference(ch: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Mean change in log IL-6, resolved minus persistent, by OLS with cluster-robust (person) SE."""
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    X = add_constant(ch[["resolved_at_next"]].astype(float))
    with small_blas(_flops(X)):  # as in fit_model; on arrays (no labelled results: the same numbers, tested)
        fit = OLS(ch["change"].to_numpy(), X.to_numpy()).fit(cov_type="cluster",
                                                               cov_kwds={"groups": ch["stno"].to_numpy()})
    j = X.columns.get_loc("resolved_at_next")
    b, se = float(fit.params[j]), float(fit.bse[j])
    z = _dist.norm_isf(alpha / 2)
    means = ch.groupby("resolved_at_next")["change"].agg(["mean", "size"])
    return {"difference": b, "ci_low": b - z * se, "ci_high": b + z * se, "p": float(2 * _dist.norm_sf(abs(b / se))),
            "mean_change_resolved": float(means.loc[1, "mean"]) if 1 in means.index else np.nan,
            "mean_change_persistent": float(means.loc[0, "mean"]) if 0 in means.index else np.nan,
            "n_resolved": int(means.loc[1, "size"]) if 1 in means.index else 0,
            "n_persistent": int(means.loc[0, "size"]) if 0 in means.index else 0}


def describe(df: pd.DataFrame, min_cell: int = 10, case_threshold: int = 5) -> pd.DataFrame:
    """Per-phase cohort description, aggregated (counts under ``min_cell`` suppressed): attendance, age (mean and
    5th-95th percentiles in whole years, never a single participant's age), GHQ caseness (score at or above
    ``case_threshold``), IL-6 median and IQR."""
    rows = []
    for ph in GHQ_PHASES:
        att = df[f"ghq_p{ph}"].notna()
        r = {"phase": ph, "attended": int(att.sum()), "women (%)": 100 * float((df.loc[att, "sex"] == 2).mean()),
             "age mean": float(df.loc[att, f"age_p{ph}"].mean()),
             # percentiles, not the minimum and maximum: those are one participant's exact age each
             "age 5th-95th percentile": "{:.0f}-{:.0f}".format(*df.loc[att, f"age_p{ph}"].quantile([0.05, 0.95])),
             "GHQ cases (%)": 100 * float((df.loc[att, f"ghq_p{ph}"] >= case_threshold).mean())}
        if ph in IL6_PHASES:
            v = df[f"il6_p{ph}"].dropna()
            r.update({"IL-6 measured": int(len(v)), "IL-6 median (pg/mL)": float(v.median()),
                      "IL-6 IQR": f"{v.quantile(0.25):.2f}-{v.quantile(0.75):.2f}"})
        rows.append(r)
    out = pd.DataFrame(rows).set_index("phase")
    for c in ("attended", "IL-6 measured"):
        out[c] = out[c].astype("Int64").mask(out[c] < min_cell)
    return out


FOLLOWUP_DEFINITIONS = {
    "participant": "per participant: first analysed baseline examination to the follow-up examination of their "
                   "last observation (the twin's definition)",
    "next": "per observation: baseline to the next attended GHQ examination (the outcome's examination)",
    "until_resolution": "per observation: baseline to the first later GHQ examination without caseness, else the "
                        "last attended one",
    "last": "per observation: baseline to the last attended GHQ examination",
}


def followup_definitions(df: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Mean follow-up (years) of the analysed observations under each candidate definition.

    The abstract says the cases "were followed up for symptom resolution in the subsequent examinations of GHQ
    (mean follow-up 6.5 years)" without defining follow-up; the rows are the definitions consistent with that
    sentence (:data:`FOLLOWUP_DEFINITIONS`). Columns: definition, description, mean_years, unit (observations or
    participants), n.
    """
    thr = obs.attrs.get("case_threshold", 5)
    d = df.set_index("stno")
    later = {ph: [p for p in GHQ_PHASES if p > ph] for ph in IL6_PHASES}
    until, last = np.full(len(obs), np.nan), np.full(len(obs), np.nan)
    for ph in IL6_PHASES:
        m = (obs["phase"] == ph).to_numpy()
        if not m.any():
            continue
        rows = d.loc[obs.loc[m, "stno"]]
        sc = rows[[f"ghq_p{p}" for p in later[ph]]].to_numpy(float)
        dt = rows[[f"date_p{p}" for p in later[ph]]].to_numpy(float)
        base = obs.loc[m, "baseline_date"].to_numpy(float)
        seen = ~np.isnan(sc)
        r = np.arange(len(sc))
        j_last = sc.shape[1] - 1 - seen[:, ::-1].argmax(axis=1)
        last[m] = dt[r, j_last] - base
        resolved = seen & (sc < thr)
        j_res = np.where(resolved.any(axis=1), resolved.argmax(axis=1), j_last)
        until[m] = dt[r, j_res] - base
    vals = {"participant": (mean_followup(obs), "participants", int(obs["stno"].nunique())),
            "next": (float(obs["followup_years"].mean()), "observations", len(obs)),
            "until_resolution": (float(np.nanmean(until)), "observations", len(obs)),
            "last": (float(np.nanmean(last)), "observations", len(obs))}
    if obs.attrs.get("resolution", "next") != "next":
        vals.pop("participant")
        vals.pop("next")
    return pd.DataFrame([{"definition": k, "description": FOLLOWUP_DEFINITIONS[k], "mean_years": v[0],
                          "unit": v[1], "n": v[2]} for k, v in vals.items()])


def mean_followup(obs: pd.DataFrame) -> float:
    """Mean follow-up per participant (years): from the first analysed baseline examination to the follow-up
    examination of the participant's last observation (the twin's definition of the published 6.5 years)."""
    ends = obs["baseline_date"] + obs["followup_years"]
    per = pd.DataFrame({"stno": obs["stno"].to_numpy(), "start": obs["baseline_date"].to_numpy(),
                        "end": ends.to_numpy()}).groupby("stno").agg(start=("start", "min"), end=("end", "max"))
    return float((per["end"] - per["start"]).mean())


def followup_arithmetic() -> pd.DataFrame:
    """The gaps between the published examination windows (1991-3, 1997-9, 2002-4, 2006, 2007-9): from each IL-6
    phase to each later GHQ phase, at the windows' midpoints and at their extremes (years).

    Per observation to the next examination, a case at phase 3, 5 or 7 is followed for about 6, 5 or 3 years (5 if
    phase 8 is skipped): no mix of baseline phases averages 6.5 unless many cases skip their next examination, so
    that definition cannot give the published mean with fieldwork in a persistent order.
    """
    from .twins.whitehall import PHASE_DATES

    rows = []
    for ph in IL6_PHASES:
        lo0, hi0 = PHASE_DATES[ph]
        for q in (q for q in GHQ_PHASES if q > ph):
            lo1, hi1 = PHASE_DATES[q]
            rows.append({"baseline phase": ph, "follow-up phase": q,
                         "midpoint gap": round((lo1 + hi1) / 2 - (lo0 + hi0) / 2, 2),
                         "shortest": round(lo1 - hi0, 2), "longest": round(hi1 - lo0, 2)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- notebooks 07-08: the steps
METHOD_LABELS = {"poisson": "Poisson, cluster-robust", "gee": "GEE, exchangeable"}
MODELS = {"age and sex": AGE_SEX, "fully adjusted": FULL}


def risk_ratio_table(obs: pd.DataFrame, exposure: str = "low", *, models: dict | None = None,
                     methods=("poisson", "gee")) -> pd.DataFrame:
    """Risk ratios of resolution for ``exposure`` under each adjustment set of ``models`` (default: age and sex;
    fully adjusted) and each method: one row each, with a ``label`` for figures."""
    rows = []
    for label, covs in (models or MODELS).items():
        for method in methods:
            r = risk_ratio(obs, exposure, covs, method=method)
            rows.append({"model": label, "method": METHOD_LABELS[method], "RR": r["rr"], "95% CI low": r["ci_low"],
                         "95% CI high": r["ci_high"], "P": r["p"], "observations": r["n_obs"],
                         "participants": r["n_persons"], "label": f"{label} ({METHOD_LABELS[method]})"})
    return pd.DataFrame(rows)


def age_extreme(obs: pd.DataFrame, which: str) -> tuple[float, int]:
    """The youngest (``which="min"``) or oldest age in whole years, and how many participants share it."""
    years = np.floor(obs["age"].to_numpy(dtype=float))
    age = float(np.nanmin(years) if which == "min" else np.nanmax(years))
    return age, int(obs.loc[years == age, "stno"].nunique())


def age_span(obs: pd.DataFrame, min_cell: int = MIN_CELL) -> str:
    """The analysed ages as a reader may see them: the range in whole years when at least ``min_cell`` participants
    share each end, otherwise the 5th-95th percentile (a real extract's youngest or oldest participant is not shown)."""
    (lo, n_lo), (hi, n_hi) = age_extreme(obs, "min"), age_extreme(obs, "max")
    if min(n_lo, n_hi) >= min_cell:
        return f"aged {lo:.0f}-{hi:.0f} (whole years)"
    p5, p95 = np.floor(np.nanpercentile(obs["age"].to_numpy(dtype=float), [5, 95]))
    return f"aged {p5:.0f}-{p95:.0f} (5th-95th percentile, whole years)"


def record_design(obs: pd.DataFrame, *, is_twin: bool, resolution: str, n_il6_phases: int,
                  n_ghq_phases: int) -> list[str]:
    """Record the study-design numbers (cases, ages, phases, follow-up): twin inputs on a twin, real otherwise.

    The mean follow-up is per participant (first analysed baseline to the follow-up examination of the last
    observation; :func:`followup_definitions` shows the alternatives), recorded only with ``resolution="next"``."""
    from . import ledger

    kind = "design_input" if is_twin else "real_data"
    ledger.record("V.n_cases", len(obs), kind=kind,
                  note="GHQ-case observations with IL-6 and a later GHQ examination" +
                       ("; the twin's IL-6 measurement of eligible cases is drawn conditionally on this total"
                        if is_twin else ""))
    for cid, extreme in (("V.age_min", "youngest"), ("V.age_max", "oldest")):
        age, sharing = age_extreme(obs, "min" if cid.endswith("min") else "max")
        # a real extract's youngest or oldest age is a participant's own unless enough people share it (disclosure
        # control flags minima and maxima): then only whether it matches the paper is kept
        withheld = (f"fewer than {MIN_CELL} participants share the {extreme} age (disclosure control)"
                    if not is_twin and sharing < MIN_CELL else None)
        ledger.record(cid, age, kind=kind, note="age at the baseline examination, whole years", withheld=withheld)
    ledger.record("V.il6_phases", n_il6_phases, kind=kind, note="phases 3, 5, 7")
    ledger.record("V.ghq_phases", n_ghq_phases, kind=kind, note="phases 3, 5, 7, 8, 9")
    if resolution != "next":
        return ["V.n_cases", "V.age_min", "V.age_max", "V.il6_phases", "V.ghq_phases"]
    ledger.record("V.followup_mean", float(mean_followup(obs)), kind=kind,
                  note="per participant, first analysed baseline to the follow-up examination of the last observation; "
                       f"per observation to the next examination {obs['followup_years'].mean():.2f} y (the abstract "
                       "does not define follow-up; notebook 07 shows the definitions and the window arithmetic)")
    return ["V.n_cases", "V.age_min", "V.age_max", "V.il6_phases", "V.ghq_phases", "V.followup_mean"]


def _record_rr(claim: str, row: pd.Series, kind: str, note: str, setup: dict | None) -> str:
    from . import ledger

    ledger.record(claim, float(row["RR"]), ci=(float(row["95% CI low"]), float(row["95% CI high"])), kind=kind, note=note,
                  extra={"setup": setup} if setup else None)
    return claim


def record_low_vs_high(table: pd.DataFrame, *, kind: str, is_twin: bool, setup: dict | None = None) -> list[str]:
    """Record the age-sex and fully adjusted Poisson RRs of low vs high IL-6. ``setup`` (twin only,
    :func:`il6repro.overseeds.whitehall_setup`) lets the ledger pair them with the over-seeds distributions."""
    pois = table[table["method"] == METHOD_LABELS["poisson"]].set_index("model")
    return [_record_rr("V.rr_low_vs_high.agesex", pois.loc["age and sex"], kind,
                       "Poisson, cluster-robust SE; low = below the cut-off (phase median by default: an assumption)",
                       setup),
            _record_rr("V.rr_low_vs_high.full", pois.loc["fully adjusted"], kind,
                       "adds grade, smoking, BMI, chronic disease, medication" +
                       ("; in the twin these shift IL-6 but not resolution (assumption)" if is_twin else ""), setup)]


def record_repeated(table: pd.DataFrame, *, kind: str, setup: dict | None = None) -> list[str]:
    """Record the age-sex Poisson RR of repeated low vs repeated high IL-6 (``setup`` as :func:`record_low_vs_high`)."""
    row = table[(table["method"] == METHOD_LABELS["poisson"]) & (table["model"] == "age and sex")].iloc[0]
    return [_record_rr("V.rr_repeated", row, kind,
                       "repeated low vs repeated high IL-6, age and sex, Poisson cluster-robust; "
                       f"{int(row['observations'])} observations", setup)]


def record_change(d: dict, *, kind: str, setup: dict | None = None) -> list[str]:
    """Record the change in log IL-6 among high-IL-6 cases, resolved minus persistent (``setup`` as above)."""
    from . import ledger

    ledger.record("V.il6_change_with_resolution", float(d["difference"]),
                  ci=(float(d["ci_low"]), float(d["ci_high"])), kind=kind,
                  note=f"change in log IL-6 to the next IL-6 phase among high-IL-6 cases, resolved ({d['n_resolved']}) "
                       f"minus persistent ({d['n_persistent']}); OLS, cluster-robust SE",
                  extra={"setup": setup} if setup else None)
    return ["V.il6_change_with_resolution"]


def rr_verdict(row: pd.Series) -> tuple[bool, str]:
    """Whether a risk ratio supports "more likely to resolve" (RR > 1 with a CI above 1), and the numbers."""
    from .report import fmt_ci, fmt_p

    holds = bool(row["95% CI low"] > 1)
    where = "excludes 1" if row["95% CI low"] > 1 or row["95% CI high"] < 1 else "includes 1"
    return holds, (f"RR {row['RR']:.2f} {fmt_ci(row['95% CI low'], row['95% CI high'], 3)}, P {fmt_p(row['P'])}, "
                   f"{int(row['observations']):,} observations: the CI {where}")


def trajectories(df: pd.DataFrame, obs: pd.DataFrame, ch: pd.DataFrame, min_cell: int = 10) -> pd.DataFrame:
    """Geometric mean IL-6 at baseline and at the next IL-6 phase among high-IL-6 cases, by phase and whether
    symptoms had resolved; groups under ``min_cell`` people are left out (aggregates only)."""
    rows = []
    for ph in sorted(ch["phase"].unique()):
        sub = ch[ch.phase == ph]
        base = obs[(obs.phase == ph) & (obs.low == 0)].set_index("stno").loc[sub.stno, "log_il6"].to_numpy()
        for status, group in ((1, "resolved"), (0, "still a case")):
            m = sub.resolved_at_next.to_numpy() == status
            if m.sum() >= min_cell:
                rows.append({"from phase": int(ph), "group": group, "baseline": float(np.exp(base[m].mean())),
                             "next IL-6 phase": float(np.exp((base[m] + sub.change.to_numpy()[m]).mean())),
                             "case-observations": int(m.sum())})
    return pd.DataFrame(rows)


#: The flow table's sums (per phase): cases = with IL-6 + without; with IL-6 = without a later GHQ + analysed.
FLOW_IDENTITIES = (("GHQ cases", "IL-6 measured", "no IL-6 (excluded)"),
                   ("IL-6 measured", "no later GHQ (excluded)", "case-observations"))


def flow_for_display(flow: pd.DataFrame, min_cell: int = 10) -> pd.DataFrame:
    """The flow table as shown: counts under ``min_cell`` suppressed, and another count of each sum they enter, so
    none is the difference of two shown ones (the analysed case-observations kept visible where possible)."""
    from .governance import suppress_flow

    return suppress_flow(flow, FLOW_IDENTITIES, min_cell, keep_visible=("case-observations", "attended GHQ"))

