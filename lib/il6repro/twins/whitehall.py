"""The Whitehall II twin of study V (Virtanen et al. 2015), and the loader that reads it or a real extract.

Design facts respected (Whitehall II): 10,308 civil servants aged 35-55 at phase 1 (1985-88; 6,895 men, 3,413
women); serum IL-6 at phases 3 (1991-93), 5 (1997-99) and 7 (2002-04); GHQ-30 at phases 3, 5, 7, 8 (2006, postal)
and 9 (2007-09); about 8,815 / 7,870 / 6,967 / 7,173 / 6,761 participants at phases 3/5/7/8/9; GHQ caseness =
score >= 5.

Design inputs met exactly at every seed (at the published N; a twin of another size scales the count):

* **2,419 GHQ-case observations aged 39-72**: a case at an IL-6 phase with IL-6 measured and a later GHQ
  examination. The IL-6 measurement of such cases is drawn *conditionally*: among the eligible cases (aged 39-72,
  whole years, at that examination) exactly ``n_cases`` are measured, a uniform random subset (the conditional law of
  independent measurement given the total), with the youngest and oldest whole-year ages of the published range
  represented (if the subset lacks a 39- or a 72-year-old, the eligible one with the smallest draw replaces the
  selected one with the largest). Cases outside 39-72 have no IL-6 measurement; every other attendee of an IL-6
  phase is measured with probability ``il6_measured``. Measurement does not enter the generating process, so
  conditioning it leaves the planted effects untouched.
* **Mean follow-up 6.5 years**, defined per participant: from the first baseline examination at which the
  participant is an analysed GHQ case to the GHQ examination at which the resolution of their last observation is
  assessed (the next attended one). :func:`il6repro.cohort.followup_definitions` gives this and the other
  candidate definitions, :func:`il6repro.cohort.followup_arithmetic` the gaps between the published windows: per
  observation to the next examination, cases at phases 3, 5 and 7 are followed for about 6, 5 and 3 years (5.3-5.7
  on the twin), and no mix averages 6.5 without many skipped examinations. The twin meets 6.5 by the placement of
  the phase-3 fieldwork inside its published window 1991.0-1993.99 (``date = 1991 + 2.99 q^g`` for a person's
  place ``q`` in the fieldwork; the exponent ``g`` is solved per seed with :func:`scipy.optimize.brentq` so the mean
  of the dates as written is 6.50). The generating process is re-run at the solved placement (common random
  numbers) until the ages it used agree with the ages written to within 0.02 years (``truth["age_p3_generation_
  gap"]``, below the table's 0.1 rounding).

Layout (one row per participant; documented column by column in ``data_manifest/whitehall/layout.yaml``):
``stno`` (participant id), ``sex`` (1 man, 2 woman), ``age_p1``, ``grade_p1`` (employment grade, 1 high - 3 low,
the socioeconomic position measure), and per phase ``p``: ``date_p<p>`` (decimal year of the examination, missing
if not attended), ``age_p<p>``, ``ghq_p<p>`` (GHQ-30 score 0-30); at the IL-6 phases also ``il6_p<p>`` (pg/mL),
``bmi_p<p>``, ``smoke_p<p>`` (current smoker 0/1), ``chronic_p<p>`` (CHD, diabetes or cancer 0/1) and
``meds_p<p>`` (anti-inflammatory or antidepressant medication 0/1).

How it is generated (one seed): examination dates inside the published windows (phase 1 fieldwork order
independent of the later phases, which keep a persistent order: a person examined early at phase 3 is early at
phase 5); participation by a persistent propensity (a probit model per phase, calibrated to the published counts);
log IL-6 = covariate effects (age, BMI, smoking, grade, chronic disease) + an AR(1) person process across phases 1
(latent, never measured), 3, 5, 7 (right-skewed on the pg/mL scale, rising with age); GHQ caseness a Markov chain
over attended examinations. A case resolves at the next attended examination with probability ``exp(b0 + beta_c *
low_now + beta_p * low_before + age and sex terms)``, where *low* is below the phase median of IL-6 at the case's
baseline IL-6 phase and at the IL-6 phase before it. ``beta_c`` and ``beta_p`` are solved so that the expected
low-vs-high risk ratio equals the published 1.15 and the repeated-low vs repeated-high risk ratio the published 1.21
(the previous-phase term is what makes repeated exposure matter more). A case who resolves has IL-6 at the next IL-6
phase shifted by ``il6_change`` (log scale), so IL-6 falls with resolution. Covariates other than age and sex shift
IL-6 but not resolution, so further adjustment changes little.

Assumptions (the abstract does not give them; each is a parameter): the IL-6 cut-off (the phase median), the
caseness prevalence and incidence, the share of attendees with an IL-6 measurement, the AR correlation, the size of
the IL-6 fall with resolution, the absence of covariate effects on resolution, and the follow-up definition above.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from .. import _dist, _yaml, governance
from ._checks import MIN_PARTICIPANTS, numeric_column, read_csv, rows
from ._store import atomic_directory, cached, recorded_hashes

FILE = "whitehall_wide.csv"
TRUTH = "truth"
# examination windows (decimal years, inclusive of the last year: 1991-3 = 1991.0 to 1993.99)
PHASE_DATES = {1: (1985.0, 1988.99), 3: (1991.0, 1993.99), 5: (1997.0, 1999.99), 7: (2002.0, 2004.99),
               8: (2006.0, 2006.99), 9: (2007.0, 2009.99)}
IL6_PHASES = (3, 5, 7)
GHQ_PHASES = (3, 5, 7, 8, 9)
ATTENDANCE = {3: 8815, 5: 7870, 7: 6967, 8: 7173, 9: 6761}
N_TOTAL, N_MEN = 10308, 6895
N_CASES = 2419  # GHQ-case observations with IL-6 and follow-up (published)
AGE_RANGE = (39, 72)  # their ages at the baseline examination, whole years (published)
FOLLOWUP_MEAN = 6.5  # mean follow-up, years (published; per participant, see the module docstring)
DEFAULTS = dict(n=N_TOTAL, seed=19850101, rr_low=1.15, rr_repeated=1.21, il6_change=-0.20, case_prev=0.27,
                incidence=0.11, resolution_base=0.50, il6_measured=0.49, il6_rho=0.60, il6_sd=0.62,
                n_cases=None, followup_mean=FOLLOWUP_MEAN)
_LEVER_BOUNDS = (-3.0, 3.0)  # log of the phase-3 fieldwork exponent searched (see _dates)
_LEVER_START = -1.4  # first guess (typical solution at the published design), saves a pass of the process


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
    p["n_cases"] = int(round(N_CASES * p["n"] / N_TOTAL)) if p["n_cases"] is None else int(p["n_cases"])
    if p["n_cases"] < 1:
        raise ValueError(f"n_cases must be at least 1, got {p['n_cases']}")
    if p["followup_mean"] is not None:
        p["followup_mean"] = float(p["followup_mean"])
        if not 2 <= p["followup_mean"] <= 12:
            raise ValueError(f"followup_mean must be in [2, 12] years (or None), got {p['followup_mean']}")
    return p


def _covariates(rng, n):
    male = rng.random(n) < N_MEN / N_TOTAL
    age1 = rng.uniform(35, 56, n)
    grade = np.where(male, rng.choice([1, 2, 3], n, p=[0.40, 0.42, 0.18]),
                     rng.choice([1, 2, 3], n, p=[0.15, 0.35, 0.50]))
    bmi0 = rng.normal(np.where(male, 24.8, 24.2), 3.4, n)
    smoker = rng.random(n) < np.where(grade == 3, 0.28, 0.14)
    return male, age1, grade, bmi0, smoker


def _dates(rng, n, lever3: float) -> tuple[dict, np.ndarray]:
    """Examination dates inside the published windows.

    Phase 1 anywhere in its window (its fieldwork order is independent of the later phases). Phases 5-9 keep a
    persistent place in the fieldwork (a shared offset), centred in their windows. Phase 3 spans its whole window
    1991.0-1993.99 in the same fieldwork order: ``date = 1991 + 2.99 * q ** exp(lever3)`` with ``q`` the person's
    place (0-1), so ``lever3 < 0`` moves the fieldwork later, ``> 0`` earlier, always inside the window and without
    piling dates on its edge. Returns the dates and ``q`` (to re-solve ``lever3`` without redrawing)."""
    lo1, hi1 = PHASE_DATES[1]
    dates = {1: np.minimum(rng.uniform(lo1, hi1 + 0.01, n), hi1)}
    offset = rng.uniform(-1, 1, n)
    q3 = np.clip((offset + 1) / 2 + rng.normal(0, 0.05, n), 0, 1)
    lo3, hi3 = PHASE_DATES[3]
    dates[3] = lo3 + (hi3 - lo3) * q3 ** np.exp(lever3)
    for ph in (5, 7, 8, 9):
        lo, hi = PHASE_DATES[ph]
        dates[ph] = np.clip((lo + hi) / 2 + 0.6 * offset + rng.normal(0, 0.15, n), lo, hi)
    return dates, q3


def _il6_process(rng, p, n, dates, male, age1, grade, bmi0, smoker):
    """Log IL-6 at phases 1, 3, 5, 7 before any resolution shift, plus the phase covariates and ages."""
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
    return ages, cov, log_il6


@functools.lru_cache(maxsize=32)
def _solve_betas(rr_low: float, rr_repeated: float, il6_rho: float, il6_sd: float, n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    p = dict(DEFAULTS, il6_rho=il6_rho, il6_sd=il6_sd)
    male, age1, grade, bmi0, smoker = _covariates(rng, n)
    dates, _ = _dates(rng, n, 0.0)
    _, _, lg = _il6_process(rng, p, n, dates, male, age1, grade, bmi0, smoker)
    low = {ph: lg[ph] < np.median(lg[ph]) for ph in lg}
    a = float(np.mean([np.mean(low[prev][low[cur]]) for prev, cur in ((1, 3), (3, 5), (5, 7))]))
    total = np.log(rr_repeated)

    def f(bc):
        ep = np.exp(total - bc) - 1
        return bc + np.log1p(a * ep) - np.log1p((1 - a) * ep) - np.log(rr_low)

    bc = optimize.brentq(f, -5, 5)
    return float(bc), float(total - bc), a


def solve_betas(rr_low: float, rr_repeated: float, il6_rho: float = DEFAULTS["il6_rho"],
                il6_sd: float = DEFAULTS["il6_sd"], n: int = 200_000, seed: int = 12345) -> dict:
    """``beta_c`` (low now) and ``beta_p`` (low at the previous IL-6 phase) giving the target risk ratios.

    Repeated low vs repeated high differ in both terms: ``beta_c + beta_p = log(rr_repeated)``. Low vs high at one
    phase marginalises the previous-phase term: ``rr_low = exp(beta_c) * (1 + a (e^beta_p - 1)) / (1 + (1 - a)
    (e^beta_p - 1))`` with ``a = P(low before | low now)``, estimated from a large fixed-seed draw of the IL-6
    process (the same generator as the twin; cached per argument set, it is deterministic).
    """
    bc, bp, a = _solve_betas(float(rr_low), float(rr_repeated), float(il6_rho), float(il6_sd), int(n), int(seed))
    return {"beta_c": bc, "beta_p": bp, "a": a}


class _Replay:
    """A seed's random draws, made on the first pass of :func:`_dynamics` and replayed on the next: every draw's
    size and law are the same whatever ``lever3`` (only arithmetic after the draws depends on it), so a re-run at
    another placement needs the arithmetic only. A call that differs from the recorded one is refused."""

    def __init__(self, seed: int):
        self._rng = np.random.default_rng(seed)
        self._log: list = []
        self._at: int | None = None

    def replay(self) -> _Replay:
        self._at = 0
        return self

    def __getattr__(self, name: str):
        def draw(*args, **kw):
            if self._at is None:
                out = getattr(self._rng, name)(*args, **kw)
                self._log.append((name, args, kw, out))
                return out.copy() if isinstance(out, np.ndarray) else out
            rec = self._log[self._at]
            self._at += 1
            if rec[0] != name or len(rec[1]) != len(args) or not all(
                    np.array_equal(a, b) for a, b in zip(rec[1], args, strict=True)) or rec[2].keys() != kw.keys() \
                    or not all(np.array_equal(rec[2][k], kw[k]) for k in kw):
                raise RuntimeError(f"replayed draw {self._at} differs from the recorded one ({name} vs {rec[0]})")
            return rec[3].copy() if isinstance(rec[3], np.ndarray) else rec[3]
        return draw


def _dynamics(p: dict, betas: dict, lever3: float, rng: _Replay | None = None) -> dict:
    """One draw of everything but the conditioned IL-6 measurement of the cases (common random numbers: the same
    seed gives the same draws whatever ``lever3``; ``rng``: a :class:`_Replay` of the seed, to re-run without
    redrawing)."""
    n = p["n"]
    rng = np.random.default_rng(p["seed"]) if rng is None else rng
    male, age1, grade, bmi0, smoker = _covariates(rng, n)
    dates, q3 = _dates(rng, n, lever3)
    ages, cov, lg = _il6_process(rng, p, n, dates, male, age1, grade, bmi0, smoker)
    # participation: persistent propensity u, probit per phase calibrated to the published counts
    u = rng.normal(0, 1, n)
    s = 1.0
    attend = {}
    for ph, cnt in ATTENDANCE.items():
        c = _dist.norm_ppf(cnt / N_TOTAL) * np.sqrt(1 + s ** 2)
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
    ghq = {}
    for ph in GHQ_PHASES:
        sc_case = np.minimum(5 + rng.negative_binomial(2, 2 / (2 + 5), n), 30)
        sc_non = rng.choice(5, n, p=[0.45, 0.22, 0.14, 0.11, 0.08])
        ghq[ph] = np.where(attend[ph], np.where(ghq_case[ph], sc_case, sc_non), np.nan)
    stno = 10000 + rng.choice(np.arange(max(90000, 10 * n)), n, replace=False)
    keys = {ph: rng.random(n) for ph in IL6_PHASES}  # selection order of the cases' IL-6 measurement
    # the next attended GHQ examination after each IL-6 phase (0: none)
    nxt = {}
    for ph in IL6_PHASES:
        out = np.zeros(n, int)
        for q in reversed([q for q in GHQ_PHASES if q > ph]):
            out = np.where(attend[q], q, out)
        nxt[ph] = out
    return dict(male=male, age1=age1, grade=grade, dates=dates, ages=ages, cov=cov, lg=lg, cuts=cuts,
                attend=attend, measured=measured, ghq_case=ghq_case, ghq=ghq, stno=stno, keys=keys, nxt=nxt,
                q3=q3)


def _phase3(st: dict, lever3: float) -> tuple[np.ndarray, np.ndarray]:
    """Phase-3 dates and ages (unrounded) with the phase-3 fieldwork placed by ``lever3`` (see :func:`_dates`)."""
    lo, hi = PHASE_DATES[3]
    d3 = lo + (hi - lo) * st["q3"] ** np.exp(lever3)
    return d3, st["age1"] + d3 - st["dates"][1]


def _plan(st: dict) -> dict:
    """The cases that can enter (a case at an IL-6 phase with a later GHQ examination), flattened over phases and
    sorted by their selection key; everything but the phase-3 dates and ages is fixed for a draw."""
    if "plan" in st:
        return st["plan"]
    ph_idx, row_idx, fu = [], [], []
    for ph in IL6_PHASES:
        rows = np.flatnonzero(st["ghq_case"][ph] & (st["nxt"][ph] > 0))
        ph_idx.append(np.full(len(rows), ph))
        row_idx.append(rows)
        nxt = st["nxt"][ph][rows]
        f = np.full(len(rows), np.nan)
        for q in (q for q in GHQ_PHASES if q > ph):
            f = np.where(nxt == q, np.round(st["dates"][q][rows], 2), f)
        fu.append(f)
    ph_idx, row_idx, fu = (np.concatenate(x) for x in (ph_idx, row_idx, fu))
    key = np.concatenate([st["keys"][ph][st["ghq_case"][ph] & (st["nxt"][ph] > 0)] for ph in IL6_PHASES])
    order = np.argsort(key, kind="stable")
    ph_idx, row_idx, fu, key = ph_idx[order], row_idx[order], fu[order], key[order]
    is3 = ph_idx == 3
    base = np.where(is3, np.nan, 0.0)
    whole = np.zeros(len(key))
    for ph in (5, 7):
        m = ph_idx == ph
        base[m] = np.round(st["dates"][ph][row_idx[m]], 2)
        whole[m] = np.floor(np.round(st["ages"][ph][row_idx[m]], 1))
    person, first = pd.factorize(row_idx)
    r3 = row_idx[is3]
    st["plan"] = dict(ph=ph_idx, row=row_idx, fu=fu, key=key, is3=is3, base=base, whole=whole, person=person,
                      n_person=len(first), at3=np.flatnonzero(is3), q3=st["q3"][r3], age1_3=st["age1"][r3],
                      date1_3=st["dates"][1][r3])
    return st["plan"]


def _chosen(st: dict, p: dict, lever3: float) -> tuple[np.ndarray, np.ndarray, int, float, int]:
    """The cases of :func:`_plan` whose IL-6 is measured with the phase-3 fieldwork at ``lever3`` (chosen, eligible,
    their count ``k``), the mean follow-up per participant and the participants counted: :func:`_select` without
    the per-phase masks, what the placement's solver evaluates (~50 times a draw)."""
    pl = _plan(st)
    lo3, hi3 = PHASE_DATES[3]
    d3 = lo3 + (hi3 - lo3) * pl["q3"] ** np.exp(lever3)  # the phase-3 rows' values, gathered once by _plan
    base, whole = pl["base"].copy(), pl["whole"].copy()
    base[pl["at3"]] = np.round(d3, 2)
    whole[pl["at3"]] = np.floor(np.round(pl["age1_3"] + d3 - pl["date1_3"], 1))
    lo, hi = AGE_RANGE
    elig = (whole >= lo) & (whole <= hi)
    k = min(p["n_cases"], int(elig.sum()))
    chosen = elig & (np.cumsum(elig) <= k)  # the k eligible cases with the smallest keys
    pinned = []
    for edge in (lo, hi):  # the published youngest and oldest whole-year ages are represented
        at = elig & (whole == edge)
        if k and at.any() and not (chosen & at).any():
            sel = np.flatnonzero(chosen)
            sel = sel[~np.isin(sel, pinned)]
            chosen[sel[-1]] = False  # the selected case with the largest key makes way
            chosen[np.flatnonzero(at)[0]] = True  # for the eligible one with the smallest key
        hit = np.flatnonzero(chosen & (whole == edge))
        if len(hit):
            pinned.append(hit[0])
    start = np.full(pl["n_person"], np.inf)
    end = np.full(pl["n_person"], -np.inf)
    np.minimum.at(start, pl["person"][chosen], base[chosen])
    np.maximum.at(end, pl["person"][chosen], pl["fu"][chosen])
    ok = np.isfinite(start)
    mean_fu = float(np.mean(end[ok] - start[ok])) if ok.any() else float("nan")
    return chosen, elig, k, mean_fu, int(ok.sum())


def _select(st: dict, p: dict, lever3: float) -> tuple[dict, float, dict]:
    """The conditioned IL-6 measurement of the cases with the phase-3 fieldwork at ``lever3``; returns (selected
    per phase, mean follow-up per participant, diagnostics)."""
    pl = _plan(st)
    chosen, elig, k, mean_fu, persons = _chosen(st, p, lever3)
    selected = {ph: np.zeros(p["n"], bool) for ph in IL6_PHASES}
    for ph in IL6_PHASES:
        selected[ph][pl["row"][chosen & (pl["ph"] == ph)]] = True
    diag = {"eligible": int(elig.sum()), "selected": int(k), "persons": persons}
    return selected, mean_fu, diag


def _solve_lever(st: dict, p: dict, target: float) -> float:
    """The phase-3 fieldwork placement giving mean follow-up ``target`` with this draw (or the closer bound)."""
    seen: dict[float, float] = {}

    def g(x):  # each placement evaluated once (brentq's last point is evaluated again below)
        if x not in seen:
            seen[x] = _chosen(st, p, x)[3] - target
        return seen[x]

    lo, hi = _LEVER_BOUNDS
    g_lo, g_hi = g(lo), g(hi)
    if g_lo * g_hi > 0:  # out of reach: the closer bound (the truth file reports what was achieved)
        return lo if abs(g_lo) < abs(g_hi) else hi
    x = optimize.brentq(g, lo, hi, xtol=1e-7, maxiter=200)  # moves a date by at most ~1e-7 years
    # on a step of the (piecewise) function brentq stops at the jump: take the side nearer the target
    return float(min((x - 1e-7, x, x + 1e-7), key=lambda v: abs(g(v))))


def simulate(**kw) -> dict:
    """Draw the twin in memory: the wide participant table and the planted truth."""
    p = _params(**kw)
    betas = solve_betas(p["rr_low"], p["rr_repeated"], p["il6_rho"], p["il6_sd"])
    lever_gen = _LEVER_START
    draws = _Replay(p["seed"])
    st = _dynamics(p, betas, lever_gen, draws)
    lever = lever_gen
    if p["followup_mean"] is not None:
        for _ in range(5):  # re-run the process at the solved placement until generation and table agree
            lever = _solve_lever(st, p, p["followup_mean"])
            gap = float(np.max(np.abs(_phase3(st, lever)[0] - _phase3(st, lever_gen)[0])))
            if gap <= 0.02:
                break
            lever_gen = lever
            st = _dynamics(p, betas, lever_gen, draws.replay())
    gap = float(np.max(np.abs(_phase3(st, lever)[0] - _phase3(st, lever_gen)[0])))
    selected, mean_fu, diag = _select(st, p, lever)
    d3, a3 = _phase3(st, lever)
    dates = {**st["dates"], 3: d3}
    ages = {**st["ages"], 3: a3}
    attend, cov, lg = st["attend"], st["cov"], st["lg"]
    measured = {ph: (st["measured"][ph] & ~(st["ghq_case"][ph] & (st["nxt"][ph] > 0))) | selected[ph]
                for ph in IL6_PHASES}
    cols = {"stno": st["stno"], "sex": np.where(st["male"], 1, 2), "age_p1": np.round(st["age1"], 1),
            "grade_p1": st["grade"]}
    for ph in GHQ_PHASES:
        cols[f"date_p{ph}"] = np.where(attend[ph], np.round(dates[ph], 2), np.nan)
        cols[f"age_p{ph}"] = np.where(attend[ph], np.round(ages[ph], 1), np.nan)
        cols[f"ghq_p{ph}"] = st["ghq"][ph]
        if ph in IL6_PHASES:
            cols[f"il6_p{ph}"] = np.where(measured[ph], np.round(np.exp(lg[ph]), 3), np.nan)
            for k, v in cov[ph].items():
                cols[f"{k}_p{ph}"] = np.where(attend[ph], np.round(v, 1) if k == "bmi" else v, np.nan)
    out = pd.DataFrame(cols)  # one frame of the columns (not ~40 insertions)
    sel_ages = np.concatenate([np.floor(np.round(ages[ph][selected[ph]], 1)) for ph in IL6_PHASES])
    truth = {"rr_low": p["rr_low"], "rr_repeated": p["rr_repeated"], "il6_change": p["il6_change"],
             "beta_c": betas["beta_c"], "beta_p": betas["beta_p"], "a_low_before_given_low_now": betas["a"],
             "il6_cut_pg_ml": {str(k): float(np.exp(v)) for k, v in st["cuts"].items()},
             "resolution_model": "P(resolve at next attended examination) = exp(b0 + beta_c*low_now + beta_p*"
                                 "low_before + log(0.95)*(age at baseline - 55)/10 + log(0.95)*female), low = below the phase median",
             "covariates_affect_resolution": False,
             "n_cases": int(diag["selected"]), "n_cases_eligible": int(diag["eligible"]),
             "case_age_range": [int(sel_ages.min()), int(sel_ages.max())] if len(sel_ages) else None,
             "followup_mean": mean_fu, "followup_definition": "per participant: first analysed baseline examination "
                                                              "to the next attended GHQ examination after the last one",
             "phase3_fieldwork_exponent": float(np.exp(lever)), "age_p3_generation_gap": gap}
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


def layout() -> pd.DataFrame:
    """A real extract's layout for people (the book's data page): each column of
    ``data_manifest/whitehall/layout.yaml`` with the names it takes at the phases the loader reads
    (:func:`required_columns`) and what it holds. No data: column names only."""
    from .._paths import manifest_dir

    doc = _yaml.load((manifest_dir() / "whitehall" / "layout.yaml").read_text())
    fixed = {c for c in doc["columns"] if "<p>" not in c}  # age_p1 is its own row, not one of age_p<p>
    required = [c for c in required_columns() if c not in fixed]
    rows = []
    for pattern, what in doc["columns"].items():
        stem = pattern.split("<p>")[0]
        names = [pattern] if pattern in fixed else [c for c in required if c.startswith(stem) and c[len(stem):].isdigit()]
        rows.append({"column": pattern, "columns in the file": ", ".join(names), "holds": str(what)})
    return pd.DataFrame(rows)


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
            "IL-6 in pg/mL as a number" if col.startswith("il6_") else
            "dates as decimal years, e.g. 1991.25 for April 1991, not 1991-04-01" if col.startswith("date_") else "")
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
    for ph in GHQ_PHASES:  # a wave whose columns are there but empty: the phase was left out of the export?
        if df[f"date_p{ph}"].isna().all() and df[f"ghq_p{ph}"].isna().all():
            notes.append(f"phase {ph}: no date and no GHQ-30 score for anyone (is the phase missing from the "
                         "export?); nobody can be followed up there")
    for col in ghq_cols:
        v = pd.to_numeric(df[col], errors="coerce")
        text = df[col].notna() & v.isna()
        bad = df[col].notna() & (v.isna() | (v < 0) | (v > 30) | (v % 1 != 0))
        if bad.any():
            n_text, n_range = int((bad & text).sum()), int((bad & ~text).sum())
            what = " and ".join(filter(None, [f"{n_text} non-numeric value(s)" if n_text else "",
                                              f"{n_range} score(s) outside the GHQ-30 range 0-30 or not whole"
                                              if n_range else ""]))
            if on_bad_ghq == "error":
                raise ExtractError(f"{f.name}: {col} has {what} ({rows(bad)}); the GHQ-30 score is a whole number "
                                   "0-30: correct them, or run with -p on_bad_ghq=missing (loader: "
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
