"""Study V analyses: person-observations of GHQ cases, risk ratios of symptom resolution by IL-6, repeated
exposure, and IL-6 change with resolution (Virtanen et al. 2015).

Input is the wide Whitehall table of :mod:`il6repro.twins.whitehall` (the twin or a real extract in that layout).

* A **person-observation** is a GHQ case (score >= ``case_threshold``) at an IL-6 phase (3, 5 or 7) with IL-6
  measured there, followed to the next attended GHQ examination (``resolution="next"``, default) or to the last
  attended one (``"last"``); the outcome is *resolution* = not a case there. Cases with no later GHQ examination
  leave (counted in the flow table). One person contributes up to three observations.
* **Low vs high IL-6**: below vs at or above the cut-off at the baseline phase (default the phase median of all
  measured values, an assumption: the abstract gives no cut-off; or a fixed value in pg/mL).
* **Risk ratios**: log-link Poisson regression with cluster-robust (person) variance, as R
  ``glm(family = poisson) + sandwich::vcovCL(cluster = ~stno)`` (HC1, cluster adjustment), and GEE
  (Poisson, log link, exchangeable working correlation within person, robust variance), as ``geepack::geeglm``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .twins.whitehall import GHQ_PHASES, IL6_PHASES

AGE_SEX = ["age", "female"]
FULL = ["age", "female", "grade_2", "grade_3", "smoke", "bmi", "chronic", "meds"]


class CohortError(ValueError):
    """The cohort table cannot give the requested analysis (names the problem)."""


def person_observations(df: pd.DataFrame, *, case_threshold: int = 5, resolution: str = "next",
                        il6_cut: str | float = "median") -> pd.DataFrame:
    """One row per GHQ case at an IL-6 phase with IL-6 measured and a later GHQ examination.

    Columns: stno, phase, age, female, grade_2, grade_3, smoke, bmi, chronic, meds, il6, log_il6, low (1 = below
    the cut-off), low_prev (at the previous IL-6 phase; NaN when not measured or no previous phase), resolved,
    followup_phase, followup_years. ``.attrs["flow"]`` is the flow table (who enters and leaves, per phase).
    """
    if resolution not in ("next", "last"):
        raise ValueError(f"resolution must be 'next' or 'last', got {resolution!r}")
    cuts = {}
    for ph in IL6_PHASES:
        v = df[f"il6_p{ph}"].dropna()
        if il6_cut == "median":
            if v.empty:
                raise CohortError(f"no IL-6 values at phase {ph}")
            cuts[ph] = float(v.median())
        else:
            cuts[ph] = float(il6_cut)
    rows, flow = [], []
    for i, ph in enumerate(IL6_PHASES):
        att = df[f"ghq_p{ph}"].notna()
        cases = att & (df[f"ghq_p{ph}"] >= case_threshold)
        with_il6 = cases & df[f"il6_p{ph}"].notna()
        later = [p for p in GHQ_PHASES if p > ph]
        fol = pd.DataFrame({p: df[f"ghq_p{p}"] for p in later})
        has_fu = fol.notna().any(axis=1)
        keep = with_il6 & has_fu
        flow.append({"phase": ph, "attended GHQ": int(att.sum()), "GHQ cases": int(cases.sum()),
                     "IL-6 measured": int(with_il6.sum()), "no IL-6 (excluded)": int((cases & ~with_il6).sum()),
                     "no later GHQ (excluded)": int((with_il6 & ~has_fu).sum()), "person-observations": int(keep.sum())})
        if not keep.any():
            continue
        sub = df[keep]
        f = fol[keep]
        if resolution == "next":
            fu_phase = f.notna().idxmax(axis=1)
        else:
            fu_phase = f.notna().iloc[:, ::-1].idxmax(axis=1)
        fu_score = np.array([f.iloc[j][p] for j, p in enumerate(fu_phase)])
        fu_date = np.array([sub.iloc[j][f"date_p{p}"] for j, p in enumerate(fu_phase)])
        prev = IL6_PHASES[i - 1] if i > 0 else None
        il6 = sub[f"il6_p{ph}"]
        out = pd.DataFrame({
            "stno": sub["stno"].to_numpy(), "phase": ph, "age": sub[f"age_p{ph}"].to_numpy(),
            "female": (sub["sex"] == 2).astype(int).to_numpy(),
            "grade_2": (sub["grade_p1"] == 2).astype(int).to_numpy(),
            "grade_3": (sub["grade_p1"] == 3).astype(int).to_numpy(),
            "smoke": sub[f"smoke_p{ph}"].to_numpy(), "bmi": sub[f"bmi_p{ph}"].to_numpy(),
            "chronic": sub[f"chronic_p{ph}"].to_numpy(), "meds": sub[f"meds_p{ph}"].to_numpy(),
            "il6": il6.to_numpy(), "log_il6": np.log(il6.to_numpy()), "low": (il6 < cuts[ph]).astype(int).to_numpy(),
            "low_prev": ((sub[f"il6_p{prev}"] < cuts[prev]).astype(float).where(sub[f"il6_p{prev}"].notna())
                         .to_numpy() if prev else np.nan),
            "resolved": (fu_score < case_threshold).astype(int),
            "followup_phase": fu_phase.to_numpy().astype(int),
            "followup_years": fu_date - sub[f"date_p{ph}"].to_numpy()})
        rows.append(out)
    if not rows:
        raise CohortError("no GHQ case at an IL-6 phase has IL-6 measured and a later GHQ examination")
    obs = pd.concat(rows, ignore_index=True)
    obs.attrs["flow"] = pd.DataFrame(flow).set_index("phase")
    obs.attrs["cuts"] = cuts
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


def fit_model(obs: pd.DataFrame, exposure: str = "low", covariates: list[str] = AGE_SEX, *,
              method: str = "poisson"):
    """The fitted statsmodels model behind :func:`risk_ratio` (all terms; age centred at 55).

    ``method="poisson"``: GLM Poisson/log with cluster-robust variance by person (statsmodels ``cov_type="cluster"``,
    small-sample factor ``G/(G-1) * (N-1)/(N-K)`` = R ``sandwich::vcovCL(type = "HC1")``). ``"gee"``: GEE
    Poisson/log, exchangeable working correlation within person, robust variance, scale and correlation by the
    moment estimators without degrees-of-freedom correction (``ddof_scale=0``) = R ``geepack::geeglm(corstr =
    "exchangeable")`` run to convergence (tested to 1e-6 against both R packages).
    """
    import statsmodels.api as sm

    X, d = _design(obs, exposure, covariates)
    y = d["resolved"].astype(float)
    groups = d["stno"].to_numpy()
    if y.nunique() < 2 or X[exposure].nunique() < 2:
        raise CohortError(f"{exposure}: needs both exposure groups and both outcomes")
    if method == "poisson":
        fit = sm.GLM(y, X, family=sm.families.Poisson()).fit(cov_type="cluster", cov_kwds={"groups": groups})
    elif method == "gee":
        order = np.argsort(groups, kind="stable")  # GEE wants each person's rows together
        fit = sm.GEE(y.iloc[order], X.iloc[order], groups=groups[order], family=sm.families.Poisson(),
                     cov_struct=sm.cov_struct.Exchangeable()).fit(ddof_scale=0, maxiter=200, ctol=1e-12)
    else:
        raise ValueError(f"method must be 'poisson' or 'gee', got {method!r}")
    fit.il6repro_n = (int(len(d)), int(pd.Series(groups).nunique()))
    return fit


def risk_ratio(obs: pd.DataFrame, exposure: str = "low", covariates: list[str] = AGE_SEX, *,
               method: str = "poisson", alpha: float = 0.05) -> dict:
    """Risk ratio of resolution for ``exposure`` (1 vs 0), adjusted for ``covariates`` (see :func:`fit_model`).

    Returns rr, ci_low, ci_high, log_rr, se (robust, of log RR), p, n_obs, n_persons, method, covariates.
    """
    fit = fit_model(obs, exposure, covariates, method=method)
    b = float(fit.params[exposure])
    se = float(fit.bse[exposure])
    z = stats.norm.isf(alpha / 2)
    n_obs, n_persons = fit.il6repro_n
    return {"rr": float(np.exp(b)), "ci_low": float(np.exp(b - z * se)), "ci_high": float(np.exp(b + z * se)),
            "log_rr": b, "se": se, "p": float(2 * stats.norm.sf(abs(b / se))), "n_obs": n_obs,
            "n_persons": n_persons, "method": method, "covariates": list(covariates)}


def repeated_exposure(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations with IL-6 at this and the previous IL-6 phase, low at both (``repeated_low`` = 1) or high at
    both (0); mixed patterns are left out."""
    d = obs.dropna(subset=["low_prev"]).copy()
    d = d[d["low"] == d["low_prev"]]
    if d.empty:
        raise CohortError("no observation has IL-6 at two consecutive IL-6 phases with the same category")
    d["repeated_low"] = d["low"].astype(int)
    return d


def il6_change(df: pd.DataFrame, obs: pd.DataFrame) -> pd.DataFrame:
    """Among high-IL-6 cases at phases 3 and 5, the change in log IL-6 to the next IL-6 phase by whether the case
    has resolved at that phase. Returns one row per observation: stno, phase, change, resolved_at_next."""
    rows = []
    for ph, nxt in ((3, 5), (5, 7)):
        o = obs[(obs["phase"] == ph) & (obs["low"] == 0)]
        s = df.set_index("stno").loc[o["stno"]]
        ok = s[f"il6_p{nxt}"].notna().to_numpy() & s[f"ghq_p{nxt}"].notna().to_numpy()
        if not ok.any():
            continue
        rows.append(pd.DataFrame({
            "stno": o["stno"].to_numpy()[ok], "phase": ph,
            "change": np.log(s[f"il6_p{nxt}"].to_numpy()[ok]) - o["log_il6"].to_numpy()[ok],
            "resolved_at_next": (s[f"ghq_p{nxt}"].to_numpy()[ok] < 5).astype(int)}))
    if not rows:
        raise CohortError("no high-IL-6 case has IL-6 and GHQ at the next IL-6 phase")
    return pd.concat(rows, ignore_index=True)


def change_difference(ch: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Mean change in log IL-6, resolved minus persistent, by OLS with cluster-robust (person) SE."""
    import statsmodels.api as sm

    X = sm.add_constant(ch[["resolved_at_next"]].astype(float))
    fit = sm.OLS(ch["change"], X).fit(cov_type="cluster", cov_kwds={"groups": ch["stno"].to_numpy()})
    b, se = float(fit.params["resolved_at_next"]), float(fit.bse["resolved_at_next"])
    z = stats.norm.isf(alpha / 2)
    means = ch.groupby("resolved_at_next")["change"].agg(["mean", "size"])
    return {"difference": b, "ci_low": b - z * se, "ci_high": b + z * se, "p": float(2 * stats.norm.sf(abs(b / se))),
            "mean_change_resolved": float(means.loc[1, "mean"]) if 1 in means.index else np.nan,
            "mean_change_persistent": float(means.loc[0, "mean"]) if 0 in means.index else np.nan,
            "n_resolved": int(means.loc[1, "size"]) if 1 in means.index else 0,
            "n_persistent": int(means.loc[0, "size"]) if 0 in means.index else 0}


def describe(df: pd.DataFrame, min_cell: int = 10) -> pd.DataFrame:
    """Per-phase cohort description, aggregated (counts under ``min_cell`` suppressed): attendance, age, GHQ
    caseness, IL-6 median and IQR."""
    rows = []
    for ph in GHQ_PHASES:
        att = df[f"ghq_p{ph}"].notna()
        r = {"phase": ph, "attended": int(att.sum()), "women (%)": 100 * float((df.loc[att, "sex"] == 2).mean()),
             "age mean": float(df.loc[att, f"age_p{ph}"].mean()), "age min": float(df.loc[att, f"age_p{ph}"].min()),
             "age max": float(df.loc[att, f"age_p{ph}"].max()),
             "GHQ cases (%)": 100 * float((df.loc[att, f"ghq_p{ph}"] >= 5).mean())}
        if ph in IL6_PHASES:
            v = df[f"il6_p{ph}"].dropna()
            r.update({"IL-6 measured": int(len(v)), "IL-6 median (pg/mL)": float(v.median()),
                      "IL-6 IQR": f"{v.quantile(0.25):.2f}-{v.quantile(0.75):.2f}"})
        rows.append(r)
    out = pd.DataFrame(rows).set_index("phase")
    for c in ("attended", "IL-6 measured"):
        out[c] = out[c].astype("Int64").mask(out[c] < min_cell)
    return out
