# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# name: 12_teaching_cohort
# init_cell: true
# check_all_cell: false
# export_cell: false
# run_tests: false
# solutions_pdf: false
# tests:
#   ok_format: false

# %% [markdown]
# # 12 · Course unit (c): IL-6 and recovery from distress in a cohort
#
# Study V (Virtanen et al., *Psychological Medicine* 2015; Whitehall II) followed civil servants with psychological
# distress (GHQ-30 caseness) and asked whether those with low IL-6 were more often symptom-free at the next
# examination: risk ratio (RR) 1.15 for low vs high IL-6 at one examination, and 1.21 for IL-6 low at two
# examinations running. Whitehall II data are access-controlled, so this unit works on a simulator whose truth you
# know and on the project's synthetic Whitehall twin, with the estimators the paper's notebooks use
# (`il6repro.cohort`: log-link Poisson with cluster-robust SE, and GEE).
#
# You will learn why one IL-6 measurement dilutes a risk ratio, how the choice of model changes the standard error
# (not the estimate), and what under 400 case-observations can and cannot show.
#
# **How to work.** Run the cells in order. Each exercise gives a task, the expected output and a cell to complete:
# replace every `...`, then run `grader.check("q1")` (and so on) below it; it runs the exercise's public checks and
# says what is wrong, if anything. Your grade also includes further checks. Discussion questions are answered in the
# markdown cell under them and graded by hand. Print only aggregated numbers: never a row of a cohort table.

# %% tags=["parameters"]
seed: "Seed" = 2024  # seed of the simulated studies (Exercises 1-2)
n_persons: "SampleSize" = 4000  # GHQ cases per simulated study
rr_true: "Positive" = 1.3  # planted risk ratio of resolution, usually-low vs usually-high IL-6
n_sims: "Count" = 20  # simulated studies per reliability in Exercise 2
twin_seed: "Seed" = 19850101  # seed of the Whitehall twin (Exercises 2-4); the paper's default

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from il6repro import cohort, report, teaching
from il6repro.figures import save, set_style
from il6repro.twins import whitehall

set_style()
wide, _, _ = whitehall.open_table("", seed=twin_seed)
obs = cohort.person_observations(wide)
print(f"Whitehall twin: {len(wide):,} participants; {len(obs):,} case-observations of {obs['stno'].nunique():,} "
      f"people; {obs['resolved'].mean():.0%} of them resolve by the next examination")

# %% [raw]
# # BEGIN QUESTION
# name: q1

# %% [markdown]
# ## Exercise 1 · One measurement against the usual level
#
# A person's *usual* (long-term) IL-6 is what matters in this simulation; a single measurement is the usual level
# plus noise. `teaching.simulate_dilution` draws such a study: reliability 0.5 means half the variance of one
# measurement is the usual level (the correlation of IL-6 measured years apart is of that order).
#
# **Task.** Simulate `n_persons` cases with reliability 0.5 and estimate the RR of resolution for low IL-6
# classified three ways: by the usual level (`low_usual`, unobservable in practice), by one measurement (`low_1`)
# and by the mean of two measurements (`low_mean`). Adjust for age and sex with
# `cohort.risk_ratio(sim, exposure, ["age", "female"])`, which returns a dict. Collect the three results in a
# DataFrame `rr` indexed by the exposure names with columns `rr`, `ci_low`, `ci_high`.
#
# **Expected output.** Three rows. `low_usual` is close to the planted 1.3 (its 95% CI covers 1.3 in most
# simulations); `low_1` is clearly smaller (about 1.2); `low_mean` lies in between.

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
sim = teaching.simulate_dilution(n_persons, rr_true, reliability=0.5, seed=seed)

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
rr = ...  # one row per exposure ("low_usual", "low_1", "low_mean"); columns rr, ci_low, ci_high
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
rr = pd.DataFrame({x: cohort.risk_ratio(sim, x, ["age", "female"]) for x in ("low_usual", "low_1", "low_mean")}).T
rr = rr[["rr", "ci_low", "ci_high"]].astype(float)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_table(rr):
    from il6repro.teaching import checks
    checks.frame(rr, "rr", columns=["rr", "ci_low", "ci_high"], index=["low_usual", "low_1", "low_mean"])
    for name, r in rr.iterrows():
        assert r.ci_low < r.rr < r.ci_high, f"rr[{name!r}]: the estimate should lie inside its 95% CI"
        assert 0.5 < r.rr < 3, f"rr[{name!r}] = {r.rr:.3g} is not a plausible risk ratio here"

test_q1_table(rr)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_direction(rr):
    from il6repro.teaching import checks
    checks.frame(rr, "rr", columns=["rr"], index=["low_usual", "low_1", "low_mean"])
    one, usual = float(rr.loc["low_1", "rr"]), float(rr.loc["low_usual", "rr"])
    assert one < usual, (f"one measurement gives RR {one:.3f}, the usual level {usual:.3f}: with a noisy "
                         "measurement the RR should be closer to 1 (did you use the right exposure column?)")

test_q1_direction(rr)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q1_values(rr, n_persons, rr_true, seed):
    from il6repro import cohort, teaching
    from il6repro.teaching import checks
    s = teaching.simulate_dilution(n_persons, rr_true, reliability=0.5, seed=seed)
    for x in ("low_usual", "low_1", "low_mean"):
        ref = cohort.risk_ratio(s, x, ["age", "female"])
        checks.close(rr.loc[x, "rr"], ref["rr"], f"rr['{x}']", atol=0.02, why="age- and sex-adjusted RR")
        checks.close(rr.loc[x, ["ci_low", "ci_high"]].to_numpy(float), [ref["ci_low"], ref["ci_high"]],
                     f"the 95% CI of '{x}'", atol=0.03)

test_q1_values(rr, n_persons, rr_true, seed)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q1", rr=rr)
display(report.table(rr.rename(index=report.header), "12-rr", precision=3))

# %% [raw]
# # BEGIN QUESTION
# name: d1
# manual: true
# points: 1

# %% [markdown]
# **Discussion 1.** The same people resolve in all three analyses. Why is the RR for one measurement closer to 1
# than the RR for the usual level? Could measurement error in IL-6 ever make a risk ratio *larger*?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** Classifying people as low or high from a noisy measurement misclassifies some of them: some whose
# usual IL-6 is low land in the "high" group and vice versa, so each group's risk of resolution is a mixture of the
# two true risks and the ratio moves towards 1. The error here does not depend on recovery (non-differential), and
# non-differential misclassification of a binary exposure biases the RR towards the null. Averaging two
# measurements halves the noise variance, so fewer people are misclassified and more of the RR is recovered.
# A larger RR is possible when the error is *differential*, e.g. if an acute infection both raises IL-6 and delays
# recovery at the time of measurement; then the bias can go either way.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2

# %% [markdown]
# ## Exercise 2 · How much is lost, against reliability, and the reliability of the twin's IL-6
#
# **Task.** (a) For reliability 0.2, 0.4, 0.6, 0.8 and 1.0, simulate `n_sims` studies each (seeds `seed + k`,
# k = 0 ... `n_sims` - 1) and record the mean log RR for one measurement (`low_1`) and for the mean of two
# (`low_mean`), each divided by the planted log RR (`np.log(rr_true)`). Store a DataFrame `dilution` with columns
# `reliability`, `one measure`, `mean of two`. (b) Estimate the phase-to-phase correlation of IL-6 in the
# Whitehall twin, `icc_twin`: the correlation of log IL-6 between phases 3 and 5 (columns `il6_p3`, `il6_p5` of
# `wide`) among participants measured at both. In a real cohort this is what a reliability estimate from two
# examinations looks like, though it mixes measurement error with true change over the five years between them; the
# twin has no measurement error, so there it is true change only. (c) From your `dilution` table, the share of the
# log RR that one measurement would recover *if* that correlation were the reliability of one measurement,
# `share_recovered` (interpolate with `np.interp`).
#
# **Expected output.** Both ratios rise with reliability and reach 1 at reliability 1; the mean of two is above one
# measurement everywhere below 1. `icc_twin` is about 0.65, and one measurement would then recover a bit over half
# of the log RR (a hypothetical for the twin: see Discussion 2).
#
# <!-- expected-figure: 12_dilution -->

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
rows = []
for rel in (0.2, 0.4, 0.6, 0.8, 1.0):
    one, two = [], []
    ...  # n_sims studies: append the log RR of low_1 to one and of low_mean to two
    rows.append({"reliability": rel, "one measure": ..., "mean of two": ...})  # mean log RR / np.log(rr_true)
dilution = pd.DataFrame(rows)
icc_twin = ...  # correlation of log IL-6, phases 3 and 5, in `wide`
share_recovered = ...  # np.interp(icc_twin, ...)
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
rows = []
for rel in (0.2, 0.4, 0.6, 0.8, 1.0):
    one, two = [], []
    for k in range(n_sims):
        s = teaching.simulate_dilution(n_persons, rr_true, reliability=rel, seed=seed + k)
        one.append(cohort.risk_ratio(s, "low_1", ["age", "female"])["log_rr"])
        two.append(cohort.risk_ratio(s, "low_mean", ["age", "female"])["log_rr"])
    rows.append({"reliability": rel, "one measure": np.mean(one) / np.log(rr_true),
                 "mean of two": np.mean(two) / np.log(rr_true)})
dilution = pd.DataFrame(rows)
both = wide[["il6_p3", "il6_p5"]].dropna()
icc_twin = float(np.corrcoef(np.log(both["il6_p3"]), np.log(both["il6_p5"]))[0, 1])
share_recovered = float(np.interp(icc_twin, dilution["reliability"], dilution["one measure"]))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q2_table(dilution):
    from il6repro.teaching import checks
    checks.frame(dilution, "dilution", columns=["reliability", "one measure", "mean of two"], rows=5)
    checks.close(sorted(dilution["reliability"]), [0.2, 0.4, 0.6, 0.8, 1.0], "dilution['reliability']", atol=1e-9)
    last = dilution.sort_values("reliability").iloc[-1]
    checks.close(last[["one measure", "mean of two"]].to_numpy(float), [1, 1], "the ratio at reliability 1",
                 atol=0.15, why="without measurement error nothing is diluted")

test_q2_table(dilution)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q2_twin(icc_twin, share_recovered):
    from il6repro.teaching import checks
    checks.number(icc_twin, "icc_twin", low=0, high=1)
    checks.number(share_recovered, "share_recovered", low=0, high=1.2)

test_q2_twin(icc_twin, share_recovered)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q2_curve(dilution, n_persons, rr_true, seed, n_sims):
    import numpy as np

    from il6repro import cohort, teaching
    from il6repro.teaching import checks
    d = dilution.sort_values("reliability")
    tol = 0.6 / np.sqrt(n_sims)  # about 3 Monte-Carlo SEs of a difference of two points of the curve
    assert (np.diff(d["one measure"]) > -tol).all(), "'one measure' should rise with reliability"
    low = d[d["reliability"] < 0.99]
    assert (low["mean of two"] > low["one measure"] - tol).all(), "the mean of two should lose less than one measure"
    ref = [cohort.risk_ratio(teaching.simulate_dilution(n_persons, rr_true, reliability=0.4, seed=seed + k),
                             "low_1", ["age", "female"])["log_rr"] for k in range(n_sims)]
    checks.close(d.loc[np.isclose(d["reliability"], 0.4), "one measure"].to_numpy(float),
                 [np.mean(ref) / np.log(rr_true)], "'one measure' at reliability 0.4", atol=0.05,
                 why="mean log RR over the simulations / planted log RR")

test_q2_curve(dilution, n_persons, rr_true, seed, n_sims)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q2_icc(icc_twin, share_recovered, dilution, wide):
    import numpy as np

    from il6repro.teaching import checks
    both = wide[["il6_p3", "il6_p5"]].dropna()
    ref = np.corrcoef(np.log(both["il6_p3"]), np.log(both["il6_p5"]))[0, 1]
    checks.close(icc_twin, ref, "icc_twin", atol=0.03, why="correlation of log IL-6 between phases 3 and 5")
    d = dilution.sort_values("reliability")
    checks.close(share_recovered, np.interp(icc_twin, d["reliability"], d["one measure"]), "share_recovered",
                 atol=0.03, why="your dilution curve at icc_twin")

test_q2_icc(icc_twin, share_recovered, dilution, wide)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q2", dilution=dilution, icc_twin=icc_twin)
display(report.table(dilution, "12-dilution", precision=3, index=False))
print(f"Whitehall twin: phase 3-5 correlation of log IL-6 {icc_twin:.2f} (true change: the twin has no measurement "
      f"error); were that the reliability of one measurement, one measurement would recover {share_recovered:.0%} "
      "of the log RR")
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(dilution["reliability"], dilution["one measure"], "o-", label="one measurement")
ax.plot(dilution["reliability"], dilution["mean of two"], "s-", label="mean of two measurements")
ax.axvline(icc_twin, color="0.5", ls=":", lw=1, label="twin's phase 3-5 correlation")  # no value: a graded answer
ax.axhline(1, color="0.3", lw=0.8)
ax.set_xlabel("reliability of one IL-6 measurement")
ax.set_ylabel("estimated / planted log RR")
ax.set_ylim(0, 1.15)
ax.legend(fontsize=8)
save(fig, "12_dilution", caption="Regression dilution of a risk ratio when low IL-6 is classified from one measurement or the mean of two; dotted: the phase 3-5 correlation of log IL-6 in the Whitehall twin (true change, not measurement error: the twin has none).")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d2
# manual: true
# points: 1

# %% [markdown]
# **Discussion 2.** Study V found RR 1.15 for low IL-6 at one examination and 1.21 for IL-6 low at two. Could
# regression dilution explain the gap? Is dilution what the Whitehall twin plants?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** It could explain a gap of that size. At a reliability of about 0.65, one measurement recovers only a
# bit over half of the log RR of the usual level, so a single-measurement RR of 1.15 is compatible with a
# usual-level RR near 1.3; people low (or high) at two examinations running are less often misclassified, so their
# contrast is less diluted and a larger RR is expected *even if only the usual level mattered*. The "repeated"
# contrast is not the mean of two measurements (mixed patterns are left out), but the direction of the argument
# holds. The twin does not plant dilution: it has no measurement error (its phase-to-phase correlation of about
# 0.65 is true change, so Exercise 2's share is what a real cohort with that reliability would lose), and it makes
# resolution depend on IL-6 at the previous phase as well as now (two coefficients solved to give 1.15 and 1.21).
# Both mechanisms predict
# repeated > single, so the two published RRs cannot tell them apart; neither could the twin.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3

# %% [markdown]
# ## Exercise 3 · The same risk ratio, three standard errors
#
# Each row of `obs` is a GHQ case at an IL-6 examination of the twin, followed to the next examination
# (`resolved`); `low` is IL-6 below the phase median; a person can contribute up to three rows (`stno`).
#
# **Task.** Estimate the RR of resolution for `low`, adjusted for `age` and `female`, three ways:
# (i) Poisson regression with a log link and its *model-based* SE: `sm.GLM(y, X, family=sm.families.Poisson())`
# with `X = sm.add_constant(obs[["low", "age", "female"]])`; (ii) the same model with SEs robust to clustering by
# person: `cohort.risk_ratio(obs, "low", method="poisson")`; (iii) GEE with an exchangeable working correlation:
# `cohort.risk_ratio(obs, "low", method="gee")`. Store a DataFrame `models` indexed by `"poisson (model SE)"`,
# `"poisson (cluster-robust)"`, `"GEE"` with columns `rr`, `se` (of the log RR), `ci_low`, `ci_high` (95%).
# Also store `risk`, the share of observations that resolve.
#
# **Expected output.** The two Poisson rows have the same RR, and GEE agrees to about two decimals; the
# model-based SE is about one and a half times the robust SEs, which are close to each other.

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
X = sm.add_constant(obs[["low", "age", "female"]].astype(float))
naive = ...  # the Poisson GLM fit with model-based SEs
rows = {"poisson (model SE)": {"rr": ..., "se": ..., "ci_low": ..., "ci_high": ...}}
for label, method in (("poisson (cluster-robust)", "poisson"), ("GEE", "gee")):
    rows[label] = ...  # from cohort.risk_ratio(obs, "low", ["age", "female"], method=method)
models = pd.DataFrame(rows).T
risk = ...
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
X = sm.add_constant(obs[["low", "age", "female"]].astype(float))
naive = sm.GLM(obs["resolved"].astype(float), X, family=sm.families.Poisson()).fit()
b, se = float(naive.params["low"]), float(naive.bse["low"])
rows = {"poisson (model SE)": {"rr": np.exp(b), "se": se, "ci_low": np.exp(b - 1.96 * se),
                               "ci_high": np.exp(b + 1.96 * se)}}
for label, method in (("poisson (cluster-robust)", "poisson"), ("GEE", "gee")):
    r = cohort.risk_ratio(obs, "low", ["age", "female"], method=method)
    rows[label] = {k: r[k] for k in ("rr", "se", "ci_low", "ci_high")}
models = pd.DataFrame(rows).T.astype(float)
risk = float(obs["resolved"].mean())
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q3_table(models, risk):
    from il6repro.teaching import checks
    checks.frame(models, "models", columns=["rr", "se", "ci_low", "ci_high"],
                 index=["poisson (model SE)", "poisson (cluster-robust)", "GEE"])
    for name, r in models.iterrows():
        assert r.ci_low < r.rr < r.ci_high, f"models[{name!r}]: the RR should lie inside its 95% CI"
        assert r.se > 0, f"models[{name!r}]: the SE should be positive"
    checks.number(risk, "risk", low=0, high=1)

test_q3_table(models, risk)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q3_same_estimate(models):
    from il6repro.teaching import checks
    checks.frame(models, "models", columns=["rr"], index=["poisson (model SE)", "poisson (cluster-robust)", "GEE"])
    checks.close(models.loc["poisson (model SE)", "rr"], models.loc["poisson (cluster-robust)", "rr"],
                 "the model-based Poisson RR", rtol=1e-6,
                 why="a robust variance changes the SE of a fit, not its estimate: fit the same Poisson model")

test_q3_same_estimate(models)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q3_values(models, obs):
    import numpy as np
    import statsmodels.api as sm

    from il6repro import cohort
    from il6repro.teaching import checks
    X = sm.add_constant(obs[["low", "age", "female"]].astype(float))
    fit = sm.GLM(obs["resolved"].astype(float), X, family=sm.families.Poisson()).fit()
    checks.close(models.loc["poisson (model SE)", ["rr", "se"]].to_numpy(float),
                 [np.exp(fit.params["low"]), fit.bse["low"]], "the model-based Poisson RR and SE", rtol=0.01,
                 why="log-link Poisson of resolved on low, age and female")
    for label, method in (("poisson (cluster-robust)", "poisson"), ("GEE", "gee")):
        r = cohort.risk_ratio(obs, "low", ["age", "female"], method=method)
        checks.close(models.loc[label, ["rr", "se"]].to_numpy(float), [r["rr"], r["se"]], f"the {label} RR and SE",
                     rtol=0.02)

test_q3_values(models, obs)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q3_risk(risk, obs):
    from il6repro.teaching import checks
    checks.close(risk, obs["resolved"].mean(), "risk", atol=1e-6, why="share of observations that resolve")

test_q3_risk(risk, obs)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q3", models=models)
display(report.table(models, "12-models", precision=4))
print(f"{risk:.0%} of case-observations resolve; model-based / cluster-robust SE = "
      f"{models.loc['poisson (model SE)', 'se'] / models.loc['poisson (cluster-robust)', 'se']:.2f}")

# %% [raw]
# # BEGIN QUESTION
# name: d3
# manual: true
# points: 1

# %% [markdown]
# **Discussion 3.** Why is the model-based Poisson SE too large here, and why does clustering by person change
# the SE so little in this cohort? Logistic regression of the same data gives an odds ratio: would it be a good
# stand-in for the RR?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** The Poisson model assumes the variance of the outcome equals its mean, but a binary outcome with risk
# *p* has variance *p*(1 - *p*); with about half the cases resolving the model overstates the variance by roughly
# 1/(1 - *p*), so its SE is about one and a half times too large (conservative). The sandwich (robust) variance uses
# the observed residuals instead and is right whatever the variance function; clustering by person adds the
# correlation between one person's observations, but most people contribute one observation, so it changes little.
# GEE with an exchangeable working correlation reweights those few clusters and lands in the same place. An odds
# ratio is not a good stand-in: with a common outcome it is further from 1 than the RR (with about half the cases
# resolving, an RR near 1.26 is an odds ratio near 1.7), which is why the study used log-link Poisson models.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4

# %% [markdown]
# ## Exercise 4 · What under 400 case-observations can and cannot show
#
# The repeated-exposure contrast keeps observations with IL-6 at this and the previous IL-6 examination, low at
# both (`repeated_low` = 1) or high at both (0). The twin plants RR 1.21 for it.
#
# **Task.** (a) `rep = cohort.repeated_exposure(obs)`; store the number of its observations in `n_rep_obs` and the
# age- and sex-adjusted result of `cohort.risk_ratio(rep, "repeated_low")` in `rr_rep` (a dict; its `"se"` is the
# SE of the log RR). (b) With that SE, compute `power_121`, the power of a two-sided test at alpha 0.05 to detect a
# true RR of 1.21, and `mdrr`, the smallest RR (above 1) detectable with 80% power. (c) Assuming the SE shrinks as
# 1/sqrt(number of observations), compute `n_needed`: how many repeated-exposure observations would give 80% power
# to show that the RR is above 1.15 when it is truly 1.21 (a one-sample comparison of the estimate with 1.15,
# two-sided at alpha 0.05, as in (b)).
#
# **Expected output.** About 380 observations; power near one half; a minimum detectable RR near 1.3; and
# ten-thousand-odd observations for (c).
#
# <!-- expected-figure: 12_power_repeated -->

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
rep = cohort.repeated_exposure(obs)
n_rep_obs = ...
rr_rep = ...
power_121 = ...
mdrr = ...
n_needed = ...
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
rep = cohort.repeated_exposure(obs)
n_rep_obs = len(rep)
rr_rep = cohort.risk_ratio(rep, "repeated_low")
z_a, z_b = stats.norm.isf(0.025), stats.norm.isf(0.20)
ncp = np.log(1.21) / rr_rep["se"]
power_121 = float(stats.norm.sf(z_a - ncp) + stats.norm.cdf(-z_a - ncp))
mdrr = float(np.exp((z_a + z_b) * rr_rep["se"]))
n_needed = float(n_rep_obs * ((z_a + z_b) * rr_rep["se"] / (np.log(1.21) - np.log(1.15))) ** 2)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q4_basic(n_rep_obs, rr_rep, power_121, mdrr, n_needed):
    from il6repro.teaching import checks
    checks.number(n_rep_obs, "n_rep_obs", low=50, high=5000)
    assert isinstance(rr_rep, dict) and "se" in rr_rep, "`rr_rep` should be the dict cohort.risk_ratio returns"
    checks.number(power_121, "power_121", low=0, high=1)
    checks.number(mdrr, "mdrr", low=1, high=10)
    checks.number(n_needed, "n_needed", low=n_rep_obs, high=1e7)

test_q4_basic(n_rep_obs, rr_rep, power_121, mdrr, n_needed)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q4_power(obs, n_rep_obs, rr_rep, power_121):
    import numpy as np
    from scipy import stats

    from il6repro import cohort
    from il6repro.teaching import checks
    rep = cohort.repeated_exposure(obs)
    ref = cohort.risk_ratio(rep, "repeated_low")
    checks.close(n_rep_obs, len(rep), "n_rep_obs", atol=0.5)
    checks.close(rr_rep["se"], ref["se"], "rr_rep['se']", rtol=0.05)
    z_a, ncp = stats.norm.isf(0.025), np.log(1.21) / ref["se"]
    checks.close(power_121, stats.norm.sf(z_a - ncp) + stats.norm.cdf(-z_a - ncp), "power_121", atol=0.02,
                 why="two-sided test at alpha 0.05 against RR 1.21 with this SE")

test_q4_power(obs, n_rep_obs, rr_rep, power_121)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q4_mdrr(obs, mdrr):
    import numpy as np
    from scipy import stats

    from il6repro import cohort
    from il6repro.teaching import checks
    ref = cohort.risk_ratio(cohort.repeated_exposure(obs), "repeated_low")
    z_a, z_b = stats.norm.isf(0.025), stats.norm.isf(0.2)
    checks.close(mdrr, np.exp((z_a + z_b) * ref["se"]), "mdrr", rtol=0.01, why="80% power, two-sided alpha 0.05")

test_q4_mdrr(obs, mdrr)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q4_n(n_needed, n_rep_obs, rr_rep):
    import numpy as np
    from scipy import stats

    from il6repro.teaching import checks
    z = stats.norm.isf(0.025) + stats.norm.isf(0.2)
    checks.close(n_needed, n_rep_obs * (z * rr_rep["se"] / np.log(1.21 / 1.15)) ** 2, "n_needed", rtol=0.03,
                 why="SE scales as 1/sqrt(n); 80% power, two-sided alpha 0.05, against 1.15")

test_q4_n(n_needed, n_rep_obs, rr_rep)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q4", rr_rep=rr_rep, power_121=power_121)
print(f"{n_rep_obs} repeated-exposure observations: RR {rr_rep['rr']:.2f} (95% CI {rr_rep['ci_low']:.2f}-"
      f"{rr_rep['ci_high']:.2f}); power {power_121:.0%} for RR 1.21; minimum detectable RR {mdrr:.2f}; "
      f"{n_needed:,.0f} observations to tell 1.21 from 1.15")
n_grid = np.geomspace(100, 30_000, 60)
se_n = rr_rep["se"] * np.sqrt(n_rep_obs / n_grid)
fig, ax = plt.subplots(figsize=(6, 3.4))
for target, style in ((np.log(1.21), "-"), (np.log(1.21 / 1.15), "--")):
    pw = stats.norm.sf(1.96 - target / se_n) + stats.norm.cdf(-1.96 - target / se_n)
    ax.plot(n_grid, pw, style, label="RR 1.21 vs 1" if style == "-" else "RR 1.21 vs 1.15")
ax.axvline(n_rep_obs, color="0.5", ls=":", label="this contrast")  # no count: a graded answer
ax.axhline(0.8, color="0.3", lw=0.8)
ax.set_xscale("log")
ax.set_xlabel("repeated-exposure observations")
ax.set_ylabel("power (two-sided, alpha 0.05)")
ax.legend(fontsize=8)
save(fig, "12_power_repeated", caption="Power of the repeated-exposure contrast against the number of observations, to tell RR 1.21 from 1 and from 1.15.")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d4
# manual: true
# points: 1

# %% [markdown]
# **Discussion 4.** What can this contrast show, and what can it not? Does it support the claim that repeatedly
# low IL-6 matters more than low IL-6 at one examination?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** With under 400 observations (377 in the default draw) the contrast has roughly even odds of reaching P < 0.05 even though the
# twin plants RR 1.21: a non-significant result in one run is what this design produces half of the time (the
# project's what-if sweep, which reruns the twin with other seeds and cut-offs, finds the CI excluding 1 in only
# some of its runs), and the CI spans from about 1 to about 1.5. It can show that a large effect (RR 1.3 or more) is unlikely to be missed. It cannot show that repeated
# exposure matters *more* than a single low measurement: telling 1.21 from 1.15 would need of the order of ten
# thousand observations, and the published CI (1.03-1.41) contains 1.15. The claim rests on the point estimates,
# which such a sample cannot separate; the contrast also drops people with mixed patterns, which changes who is
# compared.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
