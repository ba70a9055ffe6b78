"""The Whitehall II twin of study V (Virtanen et al. 2015), and the loader that reads it or a real extract.

Design facts respected (Whitehall II): 10,308 civil servants aged 35-55 at phase 1 (1985-88; 6,895 men, 3,413
women); serum IL-6 at phases 3 (1991-93), 5 (1997-99) and 7 (2002-04); GHQ-30 at phases 3, 5, 7, 8 (2006, postal)
and 9 (2007-09); about 8,815 / 7,870 / 6,967 / 7,173 / 6,761 participants at phases 3/5/7/8/9; GHQ caseness =
score >= 5.

Layout (one row per participant; documented column by column in ``data_manifest/whitehall/layout.yaml``):
``stno`` (participant id), ``sex`` (1 man, 2 woman), ``age_p1``, ``grade_p1`` (employment grade, 1 high - 3 low,
the socioeconomic position measure), and per phase ``p``: ``date_p<p>`` (decimal year of the examination, missing
if not attended), ``age_p<p>``, ``ghq_p<p>`` (GHQ-30 score 0-30); at the IL-6 phases also ``il6_p<p>`` (pg/mL),
``bmi_p<p>``, ``smoke_p<p>`` (current smoker 0/1), ``chronic_p<p>`` (CHD, diabetes or cancer 0/1) and
``meds_p<p>`` (anti-inflammatory or antidepressant medication 0/1).

How it is generated (one seed): participation by a persistent propensity (a probit model per phase, calibrated to
the published counts); log IL-6 = covariate effects (age, BMI, smoking, grade, chronic disease) + an AR(1) person
process across phases 1 (latent, never measured), 3, 5, 7 (right-skewed on the pg/mL scale, rising with age);
GHQ caseness a Markov chain over attended examinations. A case resolves at the next attended examination with
probability ``exp(b0 + beta_c * low_now + beta_p * low_before + age and sex terms)``, where *low* is below the
phase median of IL-6 at the case's baseline IL-6 phase and at the IL-6 phase before it. ``beta_c`` and ``beta_p``
are solved so that the expected low-vs-high risk ratio equals the published 1.15 and the repeated-low vs
repeated-high risk ratio the published 1.21 (the previous-phase term is what makes repeated exposure matter more).
A case who resolves has IL-6 at the next IL-6 phase shifted by ``il6_change`` (log scale), so IL-6 falls with
resolution. Covariates other than age and sex shift IL-6 but not resolution, so further adjustment changes little.

Assumptions (the abstract does not give them; each is a parameter): the IL-6 cut-off (the phase median), the
caseness prevalence and incidence, the share of attendees with an IL-6 measurement, the AR correlation, the size of
the IL-6 fall with resolution, and the absence of covariate effects on resolution.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from .. import governance
from ._checks import MIN_PARTICIPANTS, numeric_column, read_csv, rows
from ._store import atomic_directory, cached, recorded_hashes

FILE = "whitehall_wide.csv"
TRUTH = "truth"
PHASE_DATES = {1: (1985.0, 1988.9), 3: (1991.0, 1993.9), 5: (1997.0, 1999.9), 7: (2002.0, 2004.9),
               8: (2006.0, 2006.9), 9: (2007.0, 2009.9)}
IL6_PHASES = (3, 5, 7)
GHQ_PHASES = (3, 5, 7, 8, 9)
ATTENDANCE = {3: 8815, 5: 7870, 7: 6967, 8: 7173, 9: 6761}
N_TOTAL, N_MEN = 10308, 6895
DEFAULTS = dict(n=N_TOTAL, seed=19850101, rr_low=1.15, rr_repeated=1.21, il6_change=-0.20, case_prev=0.27,
                incidence=0.11, resolution_base=0.50, il6_measured=0.49, il6_rho=0.60, il6_sd=0.62)


class ExtractError(ValueError):
    """A Whitehall table is not usable (the message names the problem)."""


def _params(**kw) -> dict:
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown twin parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    p = dict(DEFAULTS, **kw)
    p["n"], p["seed"] = int(p["n"]), int(p["seed"])
    if p["n"] < 200:
        raise ValueError(f"n={p['n']}: the twin needs at least 200 participants")
    for k in ("rr_low", "rr_repeated"):
        if p[k] <= 0:
            raise ValueError(f"{k} must be positive, got {p[k]}")
    for k in ("case_prev", "incidence", "resolution_base", "il6_measured"):
        if not 0 < p[k] < 1:
            raise ValueError(f"{k} must be in (0, 1), got {p[k]}")
    if not -1 < p["il6_rho"] < 1:
        raise ValueError(f"il6_rho must be in (-1, 1), got {p['il6_rho']}")
    return p


def _covariates(rng, n):
    male = rng.random(n) < N_MEN / N_TOTAL
    age1 = rng.uniform(35, 56, n)
    grade = np.where(male, rng.choice([1, 2, 3], n, p=[0.40, 0.42, 0.18]),
                     rng.choice([1, 2, 3], n, p=[0.15, 0.35, 0.50]))
    bmi0 = rng.normal(np.where(male, 24.8, 24.2), 3.4, n)
    smoker = rng.random(n) < np.where(grade == 3, 0.28, 0.14)
    return male, age1, grade, bmi0, smoker


def _il6_process(rng, p, n, male, age1, grade, bmi0, smoker):
    """Log IL-6 at phases 1, 3, 5, 7 before any resolution shift, plus the phase covariates."""
    # examination dates: a person keeps roughly their place in each phase's fieldwork (shared offset), so the
    # phase-1 to phase-3 gap is about 5.5 years and ages at the IL-6 phases span about 39-72
    offset = rng.uniform(-1, 1, n)
    dates = {ph: np.clip((lo + hi) / 2 + 0.6 * offset + rng.normal(0, 0.15, n), lo, hi)
             for ph, (lo, hi) in PHASE_DATES.items()}
    ages = {ph: age1 + dates[ph] - dates[1] for ph in PHASE_DATES}
    cov, log_il6 = {}, {}
    e = rng.normal(0, 1, n)
    for ph in (1, 3, 5, 7):
        if ph != 1:
            e = p["il6_rho"] * e + np.sqrt(1 - p["il6_rho"] ** 2) * rng.normal(0, 1, n)
        years = dates[ph] - dates[1]
        bmi = bmi0 + 0.09 * years + rng.normal(0, 0.8, n)
        smoke = np.where(rng.random(n) < 0.04 * (ph > 1), 0, smoker).astype(int)
        chronic = (rng.random(n) < 1 / (1 + np.exp(-(-3.6 + 0.07 * (ages[ph] - 50))))).astype(int)
        meds = (rng.random(n) < 0.06 + 0.04 * chronic).astype(int)
        mu = (np.log(1.3) + 0.018 * (ages[ph] - 50) + 0.035 * (bmi - 25) + 0.18 * smoke + 0.08 * (grade - 1)
              + 0.15 * chronic - 0.05 * male)
        log_il6[ph] = mu + p["il6_sd"] * e
        cov[ph] = dict(bmi=bmi, smoke=smoke, chronic=chronic, meds=meds)
    return dates, ages, cov, log_il6


def solve_betas(rr_low: float, rr_repeated: float, il6_rho: float = DEFAULTS["il6_rho"],
                il6_sd: float = DEFAULTS["il6_sd"], n: int = 200_000, seed: int = 12345) -> dict:
    """``beta_c`` (low now) and ``beta_p`` (low at the previous IL-6 phase) giving the target risk ratios.

    Repeated low vs repeated high differ in both terms: ``beta_c + beta_p = log(rr_repeated)``. Low vs high at one
    phase marginalises the previous-phase term: ``rr_low = exp(beta_c) * (1 + a (e^beta_p - 1)) / (1 + (1 - a)
    (e^beta_p - 1))`` with ``a = P(low before | low now)``, estimated from a large fixed-seed draw of the IL-6
    process (the same generator as the twin).
    """
    rng = np.random.default_rng(seed)
    p = dict(DEFAULTS, il6_rho=il6_rho, il6_sd=il6_sd)
    male, age1, grade, bmi0, smoker = _covariates(rng, n)
    _, _, _, lg = _il6_process(rng, p, n, male, age1, grade, bmi0, smoker)
    low = {ph: lg[ph] < np.median(lg[ph]) for ph in lg}
    a = float(np.mean([np.mean(low[prev][low[cur]]) for prev, cur in ((1, 3), (3, 5), (5, 7))]))
    total = np.log(rr_repeated)

    def f(bc):
        ep = np.exp(total - bc) - 1
        return bc + np.log1p(a * ep) - np.log1p((1 - a) * ep) - np.log(rr_low)

    bc = optimize.brentq(f, -5, 5)
    return {"beta_c": float(bc), "beta_p": float(total - bc), "a": a}


def simulate(**kw) -> dict:
    """Draw the twin in memory: the wide participant table and the planted truth."""
    p = _params(**kw)
    n = p["n"]
    rng = np.random.default_rng(p["seed"])
    betas = solve_betas(p["rr_low"], p["rr_repeated"], p["il6_rho"], p["il6_sd"])
    male, age1, grade, bmi0, smoker = _covariates(rng, n)
    dates, ages, cov, lg = _il6_process(rng, p, n, male, age1, grade, bmi0, smoker)
    # participation: persistent propensity u, probit per phase calibrated to the published counts
    u = rng.normal(0, 1, n)
    s = 1.0
    attend = {}
    for ph, cnt in ATTENDANCE.items():
        frac = cnt / N_TOTAL
        from scipy.stats import norm

        c = norm.ppf(frac) * np.sqrt(1 + s ** 2)
        attend[ph] = (c + s * u + rng.normal(0, 1, n)) > 0
    measured = {ph: attend[ph] & (rng.random(n) < p["il6_measured"]) for ph in IL6_PHASES}
    # GHQ caseness: a Markov chain over attended examinations; IL-6 'low' against each phase's median
    cuts = {1: float(np.median(lg[1]))}
    low = {1: lg[1] < cuts[1]}
    case = np.full(n, False)
    seen = np.full(n, False)  # attended an examination before
    last_il6_phase = np.full(n, 3)  # IL-6 phase at or before the last attended examination (3 before any)
    last_age = age1.copy()
    was_case_at_il6 = {}
    ghq_case = {}
    b0 = np.log(p["resolution_base"])
    prev_of = {3: 1, 5: 3, 7: 5}
    female = ~male
    for ph in GHQ_PHASES:
        a_ = attend[ph]
        if ph == 3:
            new = rng.random(n) < p["case_prev"]
        else:
            lo_now = np.zeros(n, bool)
            lo_prev = np.zeros(n, bool)
            for k in (k for k in IL6_PHASES if k in low):
                sel = last_il6_phase == k
                lo_now[sel] = low[k][sel]
                lo_prev[sel] = low[prev_of[k]][sel]
            lin = (b0 + betas["beta_c"] * lo_now + betas["beta_p"] * lo_prev
                   + np.log(0.95) * (last_age - 55) / 10 + np.log(0.95) * female)
            res = rng.random(n) < np.minimum(np.exp(lin), 0.98)
            inc = rng.random(n) < p["incidence"]
            first = rng.random(n) < p["case_prev"]
            new = np.where(seen, np.where(case, ~res, inc), first)
        case = np.where(a_, new, case)
        ghq_case[ph] = a_ & case
        if ph in IL6_PHASES:
            if ph != 3:  # IL-6 falls for cases of the previous IL-6 phase who are no longer cases
                prev = prev_of[ph]
                lg[ph] = lg[ph] + p["il6_change"] * (was_case_at_il6[prev] & a_ & ~case)
            cuts[ph] = float(np.median(lg[ph]))
            low[ph] = lg[ph] < cuts[ph]
            last_il6_phase = np.where(a_, ph, last_il6_phase)
            was_case_at_il6[ph] = a_ & case
        last_age = np.where(a_, ages[ph], last_age)
        seen |= a_
    # GHQ scores from caseness
    ghq = {}
    for ph in GHQ_PHASES:
        sc_case = np.minimum(5 + rng.negative_binomial(2, 2 / (2 + 5), n), 30)
        sc_non = rng.choice(5, n, p=[0.45, 0.22, 0.14, 0.11, 0.08])
        ghq[ph] = np.where(attend[ph], np.where(ghq_case[ph], sc_case, sc_non), np.nan)
    stno = 10000 + rng.choice(np.arange(max(90000, 10 * n)), n, replace=False)
    out = pd.DataFrame({"stno": stno, "sex": np.where(male, 1, 2), "age_p1": np.round(age1, 1),
                        "grade_p1": grade})
    for ph in GHQ_PHASES:
        out[f"date_p{ph}"] = np.where(attend[ph], np.round(dates[ph], 2), np.nan)
        out[f"age_p{ph}"] = np.where(attend[ph], np.round(ages[ph], 1), np.nan)
        out[f"ghq_p{ph}"] = ghq[ph]
        if ph in IL6_PHASES:
            out[f"il6_p{ph}"] = np.where(measured[ph], np.round(np.exp(lg[ph]), 3), np.nan)
            for k, v in cov[ph].items():
                out[f"{k}_p{ph}"] = np.where(attend[ph], np.round(v, 1) if k == "bmi" else v, np.nan)
    truth = {"rr_low": p["rr_low"], "rr_repeated": p["rr_repeated"], "il6_change": p["il6_change"],
             "beta_c": betas["beta_c"], "beta_p": betas["beta_p"], "a_low_before_given_low_now": betas["a"],
             "il6_cut_pg_ml": {str(k): float(np.exp(v)) for k, v in cuts.items()},
             "resolution_model": "P(resolve at next attended examination) = exp(b0 + beta_c*low_now + beta_p*"
                                 "low_before + log(0.95)*(age at baseline - 55)/10 + log(0.95)*female), low = below the phase median",
             "covariates_affect_resolution": False}
    return {"table": out, "truth": truth, "params": p}


def params_key(**kw) -> str:
    p = _params(**kw)
    h = hashlib.sha256(json.dumps(p, sort_keys=True).encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:12]


def write(outdir: str | Path, **kw) -> Path:
    """Generate the twin into ``outdir`` atomically (a failed run leaves nothing half-written)."""
    tw = simulate(**kw)
    with atomic_directory(outdir) as tmp:
        tw["table"].to_csv(tmp / FILE, index=False)
        (tmp / TRUTH).mkdir()
        meta = {"generator": "il6repro.twins.whitehall", "params": tw["params"], "key": params_key(**kw),
                "truth": tw["truth"], "note": "synthetic twin: no real participant is represented"}
        (tmp / TRUTH / "twin.json").write_text(json.dumps(meta, indent=1, default=str))
    return Path(outdir)


def build(cache: str | Path | None = None, **kw) -> Path:
    """Path of the twin with these parameters, generated once into ``build/twins/whitehall-<key>/``."""
    return cached("whitehall", params_key(**kw), lambda out: write(out, **kw), cache)


def truth(path: str | Path) -> dict:
    """The planted truth saved beside a twin."""
    return json.loads((Path(path) / TRUTH / "twin.json").read_text())["truth"]


def required_columns() -> list[str]:
    cols = ["stno", "sex", "age_p1", "grade_p1"]
    for ph in GHQ_PHASES:
        cols += [f"date_p{ph}", f"age_p{ph}", f"ghq_p{ph}"]
        if ph in IL6_PHASES:
            cols += [f"{k}_p{ph}" for k in ("il6", "bmi", "smoke", "chronic", "meds")]
    return cols


def load(path: str | Path, *, on_bad_ghq: str = "error") -> pd.DataFrame:
    """Read and check a wide Whitehall table (the twin's directory or CSV, or a real extract in this layout).

    Errors are one line naming the file, the column, counts and row numbers (never a participant id) and what
    to do: an empty, unreadable or not comma-separated file; missing columns; a duplicated ``stno`` (a person
    appearing twice); text where a number belongs (IL-6 given as '<0.5', sex as 'Female'); sex not 1/2;
    non-positive IL-6; GHQ-30 scores outside 0-30 (``on_bad_ghq="missing"`` sets those to missing instead and
    says how many); fewer than :data:`MIN_PARTICIPANTS` participants. The file is never modified.
    """
    path = Path(path)
    f = path / FILE if path.is_dir() else path
    if not f.is_file():
        raise ExtractError(f"no Whitehall table at {f} (give the wide CSV of data_manifest/whitehall/layout.yaml, "
                           f"or a folder holding {FILE})")
    df = read_csv(f, ExtractError)
    if df.empty:
        raise ExtractError(f"{f.name}: no rows (a header row only)")
    missing = [c for c in required_columns() if c not in df.columns]
    if missing:
        raise ExtractError(f"{f.name}: missing column(s) {missing} (layout: data_manifest/whitehall/layout.yaml)")
    if df["stno"].isna().any():
        raise ExtractError(f"{f.name}: {int(df['stno'].isna().sum())} row(s) without a stno "
                           f"({rows(df['stno'].isna())})")
    dup = df["stno"].duplicated(keep=False)
    if dup.any():
        raise ExtractError(f"{f.name}: {int(df.loc[dup, 'stno'].nunique())} participant id(s) appear more than "
                           f"once ({int(dup.sum())} rows: {rows(dup)}); one row per participant is expected")
    if on_bad_ghq not in ("error", "missing"):
        raise ValueError(f"on_bad_ghq must be 'error' or 'missing', got {on_bad_ghq!r}")
    ghq_cols = [f"ghq_p{ph}" for ph in GHQ_PHASES]
    for col in required_columns():  # every column but the id is a number (GHQ scores are checked below)
        if col == "stno" or col in ghq_cols:
            continue
        advice = "code sex as 1 = man, 2 = woman" if col == "sex" else (
            "IL-6 in pg/mL as a number" if col.startswith("il6_") else "")
        v = numeric_column(df, col, f.name, col.split("_")[0], ExtractError, advice)
        if not pd.api.types.is_numeric_dtype(df[col]):  # numbers written as text (quoted, blanks): parsed
            df[col] = v
    if not df["sex"].isin([1, 2]).all():
        bad = ~df["sex"].isin([1, 2])
        raise ExtractError(f"{f.name}: sex must be 1 (man) or 2 (woman); {int(bad.sum())} row(s) are not "
                           f"({rows(bad)})")
    for ph in IL6_PHASES:
        bad = df[f"il6_p{ph}"].notna() & (df[f"il6_p{ph}"] <= 0)
        if bad.any():
            raise ExtractError(f"{f.name}: il6_p{ph} has {int(bad.sum())} non-positive value(s) ({rows(bad)}); "
                               "IL-6 is a concentration in pg/mL (leave a missing value empty)")
    notes = []
    for col in ghq_cols:
        v = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & (v.isna() | (v < 0) | (v > 30) | (v % 1 != 0))
        if bad.any():
            if on_bad_ghq == "error":
                raise ExtractError(f"{f.name}: {col} has {int(bad.sum())} score(s) outside the GHQ-30 range 0-30 "
                                   f"({rows(bad)}); correct them, or run with -p on_bad_ghq=missing (loader: "
                                   "on_bad_ghq='missing') to treat them as missing")
            v[bad] = np.nan
            notes.append(f"{col}: {int(bad.sum())} out-of-range score(s) set to missing")
        df[col] = v
    if len(df) < MIN_PARTICIPANTS:
        raise ExtractError(f"{f.name}: {len(df)} participant(s); the analyses need at least {MIN_PARTICIPANTS} (is "
                           "this the whole extract?)")
    df.attrs["notes"] = notes
    governance.register_ids(df["stno"])
    return df


def open_table(extract: str = "", *, on_bad_ghq: str = "error",
               **twin_params) -> tuple[pd.DataFrame, Path | None, bool]:
    """The table to analyse: a real extract (a CSV in the documented layout; ``on_bad_ghq`` as in :func:`load`)
    or the twin with these parameters.

    The data set analysed (twin key, or the extract's sha256) goes to the run's data log (see
    :func:`il6repro.data.log_cohort`), so the site and ledger never mix notebooks run on different data.
    """
    from ..data import log_cohort, sha256_file

    if extract:
        df = load(extract, on_bad_ghq=on_bad_ghq)
        p = Path(extract)
        f = p / FILE if p.is_dir() else p
        log_cohort("whitehall", "extract", {"table": sha256_file(f)})
        return df, None, False
    path = build(**twin_params)
    df = load(path)
    sums = recorded_hashes(path)
    log_cohort("whitehall", f"twin {path.name}", {FILE: sums[FILE]} if FILE in sums else {})
    return df, path, True
