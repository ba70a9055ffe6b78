# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# name: 10_teaching_mr
# init_cell: true
# check_all_cell: false
# export_cell: false
# run_tests: false
# solutions_pdf: false
# tests:
#   ok_format: false

# %% [markdown]
# # 10 · Course unit (a): power, weak instruments and pleiotropy in Mendelian randomization
#
# Study W (Williams et al., *JAMA Psychiatry* 2022) used genetic variants as instruments for IL-6 signalling and
# four other inflammatory exposures, and tested each against 205 brain imaging measures of 20,688 UK Biobank
# participants (Mendelian randomization, MR). Five IL-6 associations passed its threshold. This unit asks what such
# a design can detect, how it can be fooled, and which of the five findings you would expect to see again.
#
# Exercises 1-3 use simulated data whose truth you know (`il6repro.teaching`); Exercise 4 reruns the paper's scan on
# the project's synthetic UK Biobank twin, which plants the five published associations at their published
# strength and nothing else. The estimators are the project's own (`il6repro.genetics`), the ones the paper's
# notebooks use.
#
# **How to work.** Run the cells in order. Each exercise gives a task, the expected output and a cell to complete:
# replace every `...`, then run `grader.check("q1")` (and so on) below it; it runs the exercise's public checks and
# says what is wrong, if anything. Your grade also includes further checks. Discussion questions are answered in the
# markdown cell under them and graded by hand.

# %% tags=["parameters"]
seed: "Seed" = 2024  # seed of every simulation in Exercises 1-3
n_rep: "Count" = 200  # simulated studies per setting (more: smoother results, slower)
theta: "float" = 0.05  # true causal effect in the simulations, outcome SD per exposure SD
twin_seed: "Seed" = 2  # seed of the UK Biobank twin in Exercise 4 (the paper's notebooks use 20220101)
alpha: "Probability" = 0.05  # family-wise error rate of the scan (Bonferroni), Exercise 4

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from il6repro import report, teaching
from il6repro.figures import save, set_style
from il6repro.genetics import assoc, mr, scan
from il6repro.twins import ukb

set_style()
PAPER_N = 20_688
ns = np.unique(np.round(np.logspace(np.log10(2_000), np.log10(500_000), 25)).astype(int))
r2s = (0.002, 0.01, 0.05)

# %% [raw]
# # BEGIN QUESTION
# name: q1

# %% [markdown]
# ## Exercise 1 · Power against sample size and instrument strength
#
# For a standardised outcome, the IVW estimate from instruments explaining a share R² of the exposure's variance
# has a non-centrality of about sqrt(N R²) x theta, so the power of a two-sided test at alpha = 0.05 is
# Phi(sqrt(N R²) theta - 1.96) + Phi(-sqrt(N R²) theta - 1.96) (Burgess 2014, Int J Epidemiol 43:922-929).
# `teaching.mr_power(n, r2, theta)` computes it; you may also write it yourself.
#
# **Task.** (a) `power`: a DataFrame with columns `n`, `r2`, `power`, one row for each N in `ns` (25 sample sizes,
# 2,000 to 500,000) and each R² in `r2s` (0.2%, 1%, 5%), for the effect `theta`. (b) `n_80`: a Series indexed by
# the three R² values, the N that gives 80% power (to within 1%; a closed form or `scipy.optimize.brentq`).
# (c) `r2_at_paper_n`: the R² that gives 80% power at the paper's N = 20,688 (`PAPER_N`). (d) `simulated`: check one
# point by simulation - the share of `n_rep` studies drawn by
# `teaching.simulate_summary(PAPER_N, 0.05, theta, n_rep=n_rep, seed=seed)` (one study per value of the `rep`
# column) whose fixed-effect IVW estimate (`mr.ivw(bx, bxse, by, byse, model="fixed")`) has P < 0.05.
#
# **Expected output.** Power rises with N and with R²; `n_80` is about 1.6 million, 310,000 and 63,000; about 15% of
# the exposure's variance must be explained at the paper's N; the simulated power is within a few points of the
# analytic 0.36.
#
# <!-- expected-figure: 10_mr_power -->

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
power = pd.DataFrame([{"n": n, "r2": r2, "power": ...} for r2 in r2s for n in ns])
n_80 = pd.Series({r2: ... for r2 in r2s})  # the N that gives 80% power at each R2
r2_at_paper_n = ...
sims = teaching.simulate_summary(PAPER_N, 0.05, theta, n_rep=n_rep, seed=seed)
simulated = ...  # share of the studies (sims.groupby("rep")) whose fixed-effect IVW P < 0.05
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
power = pd.DataFrame([{"n": n, "r2": r2, "power": teaching.mr_power(n, r2, theta)} for r2 in r2s for n in ns])
z80 = stats.norm.isf(0.025) + stats.norm.isf(0.20)  # the other tail adds < 1e-6 at 80% power
n_80 = pd.Series({r2: (z80 / theta) ** 2 / r2 for r2 in r2s})
r2_at_paper_n = (z80 / theta) ** 2 / PAPER_N
sims = teaching.simulate_summary(PAPER_N, 0.05, theta, n_rep=n_rep, seed=seed)
simulated = float(np.mean([mr.ivw(g.bx, g.bxse, g.by, g.byse, model="fixed").p < 0.05
                           for _, g in sims.groupby("rep")]))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_curves(power, ns, r2s):
    import numpy as np

    from il6repro.teaching import checks
    checks.frame(power, "power", columns=["n", "r2", "power"], rows=len(ns) * len(r2s))
    assert power["power"].between(0, 1).all(), "`power` values are probabilities (0 to 1)"
    for r2, sub in power.groupby("r2"):
        assert (np.diff(sub.sort_values("n")["power"]) >= -1e-12).all(), f"power should rise with N (R2 = {r2})"

test_q1_curves(power, ns, r2s)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_n80(n_80, r2_at_paper_n, r2s):
    import numpy as np

    from il6repro.teaching import checks
    checks.answered("n_80", n_80)
    assert sorted(np.round(list(n_80.index), 6)) == sorted(r2s), "`n_80` should be indexed by the three R2 values"
    assert (np.diff(n_80.sort_index().to_numpy(float)) < 0).all(), "stronger instruments need fewer people"
    checks.number(r2_at_paper_n, "r2_at_paper_n", low=0, high=1)

test_q1_n80(n_80, r2_at_paper_n, r2s)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q1_values(power, n_80, r2_at_paper_n, theta):
    import numpy as np
    from scipy import optimize, stats

    from il6repro.teaching import checks

    def pw(n, r2):
        ncp = np.sqrt(n * r2) * abs(theta)
        return stats.norm.sf(1.959964 - ncp) + stats.norm.cdf(-1.959964 - ncp)
    checks.close(power["power"], [pw(n, r2) for n, r2 in zip(power["n"], power["r2"], strict=True)], "power",
                 atol=0.005, why="two-sided normal test at alpha 0.05")
    for r2, n in n_80.items():
        ref = optimize.brentq(lambda m, r2=r2: pw(m, r2) - 0.8, 10, 1e12)
        checks.close(n, ref, f"n_80[{r2}]", rtol=0.01, why="N at which the power is 0.80")
    ref = optimize.brentq(lambda r: pw(20_688, r) - 0.8, 1e-9, 0.999999)
    checks.close(r2_at_paper_n, ref, "r2_at_paper_n", rtol=0.01)

test_q1_values(power, n_80, r2_at_paper_n, theta)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q1_simulated(simulated, theta, n_rep):
    import numpy as np

    from il6repro import teaching
    from il6repro.teaching import checks
    p = teaching.mr_power(20_688, 0.05, theta)
    checks.number(simulated, "simulated", low=0, high=1)
    checks.close(simulated, p, "simulated", atol=4 * np.sqrt(p * (1 - p) / n_rep) + 0.01,
                 why="analytic power, within Monte-Carlo error")

test_q1_simulated(simulated, theta, n_rep)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q1", power=power, n_80=n_80)
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for r2, sub in power.groupby("r2"):
    ax.plot(sub["n"], sub["power"], label=f"R\u00b2 = {r2:.1%}")
ax.axvline(PAPER_N, color="0.5", ls=":", lw=0.8, label="the paper's N")
ax.axhline(0.8, color="0.3", lw=0.6)
ax.set_xscale("log")
ax.set_xlabel("N")
ax.set_ylabel("power (alpha 0.05)")
ax.set_title(f"IVW MR power for an effect of {theta} SD per SD")
ax.legend(fontsize=8)
save(fig, "10_mr_power", caption="Analytic power of IVW MR against N for three instrument strengths.")  # IGNORE
plt.show()
print("N for 80% power:", ", ".join(f"R2 {r2:.1%}: {n:,.0f}" for r2, n in n_80.items()),
      f"| R2 needed at N = {PAPER_N:,}: {r2_at_paper_n:.1%} | simulated power at R2 5%: {simulated:.2f} "
      f"(analytic {teaching.mr_power(PAPER_N, 0.05, theta):.2f})")

# %% [raw]
# # BEGIN QUESTION
# name: d1
# manual: true
# points: 1

# %% [markdown]
# **Discussion 1.** Instruments for circulating inflammatory proteins rarely explain more than a few percent of
# their variance. What does that mean for the paper's null results for IL-1, IL-2, CRP and BDNF?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** At N = 20,688 an effect of 0.05 SD per SD needs instruments explaining about 15% of the exposure's
# variance for 80% power; with a few percent the power is low (about a third at 5%, one in ten at 1%). A null result
# for an exposure with weak instruments is therefore uninformative about effects of that size: it rules out only
# large effects. The right report is the estimate with its confidence interval (and the smallest effect the study
# could have detected), not "no effect". Only much larger samples or stronger instruments (e.g. cis-pQTLs explaining
# more variance) change this.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2

# %% [markdown]
# ## Exercise 2 · Weak-instrument bias in one-sample 2SLS
#
# In one sample a confounder biases the ordinary least-squares (OLS) estimate of the exposure's effect; two-stage
# least squares (2SLS) with genetic instruments removes that bias, but only if the instruments are strong.
# `teaching.simulate_individual(n, r2, theta, seed=...)` draws genotypes of 10 variants, an exposure whose
# variance they explain a share `r2` of, and a confounded outcome; `teaching.tsls_estimate(sim)` returns a dict
# with the 2SLS estimate (`tsls`, the project's `genetics.onesample.tsls`), its first-stage F statistic (`F`) and
# the OLS estimate (`ols`).
#
# **Task.** With the true effect set to zero (`theta=0`), run `n_rep // 4` simulations of N = 5,000 (seeds
# `seed + k`) for each R² in 0.1%, 0.3%, 1% and 5%, and store a DataFrame `weak` with one row per R² and the
# columns `r2`, `F` (mean first-stage F), `tsls_median` (median 2SLS estimate) and `ols_mean` (mean OLS estimate).
#
# **Expected output.** Mean F of about 1.5, 2.5, 6 and 27; OLS near 0.47 throughout (the confounding); the median
# 2SLS estimate about 0.3 at R² = 0.1%, falling towards the truth (0) as F grows.
#
# <!-- expected-figure: 10_weak_instruments -->

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
rows = []
for r2 in (0.001, 0.003, 0.01, 0.05):
    est = pd.DataFrame([... for k in range(n_rep // 4)])  # one teaching.tsls_estimate(...) dict per simulation
    rows.append({"r2": r2, "F": ..., "tsls_median": ..., "ols_mean": ...})
weak = pd.DataFrame(rows)
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
rows = []
for r2 in (0.001, 0.003, 0.01, 0.05):
    est = pd.DataFrame([teaching.tsls_estimate(teaching.simulate_individual(5000, r2, 0.0, seed=seed + k))
                        for k in range(n_rep // 4)])
    rows.append({"r2": r2, "F": est["F"].mean(), "tsls_median": est["tsls"].median(), "ols_mean": est["ols"].mean()})
weak = pd.DataFrame(rows)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q2_table(weak):
    import numpy as np

    from il6repro.teaching import checks
    checks.frame(weak, "weak", columns=["r2", "F", "tsls_median", "ols_mean"], rows=4)
    checks.close(sorted(weak["r2"]), [0.001, 0.003, 0.01, 0.05], "weak['r2']", atol=1e-9)
    assert (np.diff(weak.sort_values("r2")["F"]) > 0).all(), "the first-stage F should grow with R2"

test_q2_table(weak)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q2_bias(weak):
    import numpy as np

    from il6repro.teaching import checks
    w = weak.sort_values("r2")
    k, n = 10, 5000
    checks.close(w["F"], 1 + n * w["r2"] / (k * (1 - w["r2"])), "weak['F']", rtol=0.3,
                 why="expected F is about 1 + N R2 / (k (1 - R2)) with k = 10 instruments")
    checks.close(w["ols_mean"], 0.48 * np.sqrt(1 - w["r2"]), "weak['ols_mean']", atol=0.05,
                 why="the confounded OLS estimate")
    strong, weakest = w.iloc[-1], w.iloc[0]
    assert -0.1 < strong["tsls_median"] < 0.25 * strong["ols_mean"], (
        f"with R2 = 5% (F about 27) the median 2SLS estimate should be near the truth 0, not "
        f"{strong['tsls_median']:.3f}")
    assert weakest["tsls_median"] > 0.2 * weakest["ols_mean"], (
        "with R2 = 0.1% the median 2SLS estimate should be pulled well towards OLS")

test_q2_bias(weak)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q2", weak=weak)
display(report.table(weak, "10-weak", precision=3, index=False))
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(weak["F"], weak["tsls_median"], "o-", label="2SLS (median)")
ax.axhline(weak["ols_mean"].mean(), color="C3", ls="--", label="OLS (confounded)")
ax.axhline(0, color="0.3", lw=0.8, label="truth")
ax.axvline(10, color="0.6", ls=":", lw=0.8, label="F = 10")
ax.set_xscale("log")
ax.set_xticks([1, 2, 5, 10, 20, 50], ["1", "2", "5", "10", "20", "50"])
ax.minorticks_off()
ax.set_xlabel("mean first-stage F")
ax.set_ylabel("estimate (true effect 0)")
ax.legend(fontsize=8)
save(fig, "10_weak_instruments", caption="Median 2SLS estimate against first-stage F: weak instruments pull 2SLS towards the confounded OLS estimate.")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d2
# manual: true
# points: 1

# %% [markdown]
# **Discussion 2.** Where does 2SLS move when F is small, and why? The paper's MR is *two-sample* (instrument
# effects from other studies): which way would weak instruments bias it?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** Towards the confounded OLS estimate. With weak instruments the first stage fits noise as well as the
# genetic signal, and that noise is part of the exposure's confounded variation, so the fitted exposure carries some
# of the confounding into the second stage; the relative bias is roughly 1/F (two thirds at F = 1.5, under a tenth
# at F = 27), which is where the "F > 10" rule of thumb comes from. In two-sample MR the instrument effects come
# from a sample independent of the outcome's, so the chance correlation cannot carry confounding across: weak
# instruments then bias the estimate *towards the null* (like regression dilution), and sample overlap moves it
# back towards the observational estimate. A null in study W could thus be partly weak-instrument dilution.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3

# %% [markdown]
# ## Exercise 3 · Directional pleiotropy, IVW and MR-Egger
#
# Give every variant a direct effect on the outcome with mean 0.01 SD (directional pleiotropy), independent of its
# effect on the exposure (the InSIDE assumption).
#
# **Task.** Simulate `n_rep` studies with
# `teaching.simulate_summary(20_000, 0.05, theta, n_snps=30, n_rep=n_rep, pleiotropy_mean=0.01, pleiotropy_sd=0.01, seed=seed)`;
# estimate each study by IVW with random effects (`mr.ivw(..., model="random")`) and by MR-Egger (`mr.egger`; its
# `.extra["intercept_p"]` is the P value of the intercept). Store the estimates in a DataFrame `pleio` with columns
# `method` (`"IVW"` or `"MR-Egger"`) and `estimate` (one row per study and method), the mean estimate minus `theta`
# per method in a Series `bias` (indexed `"IVW"`, `"MR-Egger"`), and the share of studies whose MR-Egger intercept
# has P < 0.05 in `intercept_detected`.
#
# **Expected output.** IVW is biased upwards by about 0.15 (three times the effect); MR-Egger is centred near the
# truth but its estimates spread two to three times as widely; the intercept test detects the pleiotropy in about one
# study in five.
#
# <!-- expected-figure: 10_pleiotropy -->

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
sims = teaching.simulate_summary(20_000, 0.05, theta, n_snps=30, n_rep=n_rep, pleiotropy_mean=0.01,
                                 pleiotropy_sd=0.01, seed=seed)
rows, intercept_p = [], []

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
for _, g in sims.groupby("rep"):
    ...  # estimate this study by IVW (random effects) and MR-Egger: append to rows and intercept_p
pleio = pd.DataFrame(rows)
bias = ...  # pd.Series: mean estimate - theta, indexed "IVW", "MR-Egger"
intercept_detected = ...
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
for _, g in sims.groupby("rep"):
    rows.append({"method": "IVW", "estimate": mr.ivw(g.bx, g.bxse, g.by, g.byse, model="random").estimate})
    eg = mr.egger(g.bx, g.bxse, g.by, g.byse)
    rows.append({"method": "MR-Egger", "estimate": eg.estimate})
    intercept_p.append(eg.extra["intercept_p"])
pleio = pd.DataFrame(rows)
bias = pleio.groupby("method")["estimate"].mean() - theta
intercept_detected = float(np.mean(np.array(intercept_p) < 0.05))
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q3_table(pleio, bias, intercept_detected, n_rep):
    from il6repro.teaching import checks
    checks.frame(pleio, "pleio", columns=["method", "estimate"], rows=2 * n_rep)
    counts = pleio["method"].value_counts().to_dict()
    assert counts == {"IVW": n_rep, "MR-Egger": n_rep}, f"`pleio` should hold {n_rep} studies per method: {counts}"
    checks.answered("bias", bias)
    assert set(bias.index) == {"IVW", "MR-Egger"}, "`bias` should be indexed by 'IVW' and 'MR-Egger'"
    checks.number(intercept_detected, "intercept_detected", low=0, high=1)

test_q3_table(pleio, bias, intercept_detected, n_rep)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q3_bias(pleio, bias, theta, n_rep):
    import numpy as np

    from il6repro.teaching import checks
    m = pleio.groupby("method")["estimate"].agg(["mean", "std"])
    checks.close(bias.loc[["IVW", "MR-Egger"]], m.loc[["IVW", "MR-Egger"], "mean"] - theta, "bias", atol=1e-9,
                 why="mean estimate minus the true effect")
    assert m.loc["IVW", "mean"] - theta > theta, "IVW should be biased upwards by the directional pleiotropy"
    egger_se = m.loc["MR-Egger", "std"] / np.sqrt(n_rep)
    assert abs(m.loc["MR-Egger", "mean"] - theta) < 3 * egger_se + 0.03, (
        f"MR-Egger should be centred near the truth {theta}, not {m.loc['MR-Egger', 'mean']:.3f}")
    assert m.loc["MR-Egger", "std"] > 1.5 * m.loc["IVW", "std"], "MR-Egger should be much less precise than IVW"

test_q3_bias(pleio, bias, theta, n_rep)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q3_intercept(intercept_detected, theta, n_rep, seed):
    import numpy as np

    from il6repro import teaching
    from il6repro.genetics import mr
    from il6repro.teaching import checks
    s = teaching.simulate_summary(20_000, 0.05, theta, n_snps=30, n_rep=n_rep, pleiotropy_mean=0.01,
                                  pleiotropy_sd=0.01, seed=seed)
    ref = np.mean([mr.egger(g.bx, g.bxse, g.by, g.byse).extra["intercept_p"] < 0.05 for _, g in s.groupby("rep")])
    checks.close(intercept_detected, ref, "intercept_detected", atol=0.02,
                 why="share of studies whose MR-Egger intercept has P < 0.05")

test_q3_intercept(intercept_detected, theta, n_rep, seed)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q3", pleio=pleio)
display(report.table(pleio.groupby("method")["estimate"].agg(mean="mean", SD="std").assign(bias=bias).reset_index(),
                     "10-pleio", precision=4, index=False))
print(f"MR-Egger intercept P < 0.05 in {intercept_detected:.0%} of {n_rep} studies")
fig, ax = plt.subplots(figsize=(6, 3.2))
bins = np.linspace(pleio["estimate"].min(), pleio["estimate"].max(), 45)
for i, (m, sub) in enumerate(pleio.groupby("method")):
    ax.hist(sub["estimate"], bins=bins, alpha=0.6, color=f"C{i}", label=m)
ax.axvline(theta, color="0.2", lw=1, label="truth")
ax.set_xlabel("estimate")
ax.set_ylabel("simulated studies")
ax.legend(fontsize=8)
save(fig, "10_pleiotropy", caption="IVW and MR-Egger estimates under directional pleiotropy (InSIDE holds).")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d3
# manual: true
# points: 1

# %% [markdown]
# **Discussion 3.** Which estimator is biased, and why? What does MR-Egger pay for its lack of bias, and what must
# hold for it to be unbiased?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** IVW is a regression through the origin of the variant-outcome on the variant-exposure effects, so a
# direct effect shared by all variants (directional pleiotropy) is read as causal effect: here it about quadruples
# the estimate. MR-Egger lets the regression have an intercept that absorbs the average direct effect and estimates
# the causal effect from the slope alone. It pays in precision (a slope through a cloud of similar-sized variant
# effects is poorly determined: two to three times the IVW spread), and its intercept test detects this much
# pleiotropy in only a minority of studies. It is unbiased only if the direct effects are independent of the
# instrument strengths (InSIDE) and the variant-exposure effects are measured without much error (NOME; with
# I²_GX below 1 the slope is diluted towards zero, the slight shortfall seen here), and it depends on orienting
# every variant to increase the exposure.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4

# %% [markdown]
# ## Exercise 4 · Rerun the paper's scan on another twin, and decide what survives
#
# The UK Biobank twin plants the five published IL-6 associations so that their *expected* z at N = 20,688 equals
# the published z (zero effect for every other exposure x measure). A twin with another seed is a new sample from
# the same truth: what passes again?
#
# **Task.** (a) Build the twin with `twin_seed` and run the paper's scan (the first lines of the cell do this: five
# exposures x 205 imaging measures, IVW). (b) `threshold`: the Bonferroni threshold, `alpha` over the number of
# tests with a P value. (c) `findings`: a DataFrame indexed by the five published claims (`ukb.targets()`: columns
# `claim`, `region`, `idp`, `z`) with columns `region`, `published_z`, `z` and `p` (the IL-6 result on that IDP in
# this twin) and `significant` (P below the threshold). (d) `false_positives`: the number of significant tests
# other than the five planted IL-6 associations. (e) `p_replicate`: a Series indexed by claim, the probability that
# a study of the same size finds the association significant if its true expected z is the published z:
# Phi(|z| - z_crit) + Phi(-|z| - z_crit), with z_crit the two-sided z of the threshold.
#
# **Expected output.** 1,025 tests and a threshold of 4.88e-5; with the default `twin_seed` (2) the middle temporal
# and superior frontal associations pass and the other three do not; no false positive; `p_replicate` from about a
# quarter (inferior temporal) to about 0.95 (middle temporal).
#
# <!-- expected-figure: 10_replication -->

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
ex, _, _ = ukb.open_extract("", seed=twin_seed)
a = assoc.associate(ex.dosages, ex.idps, assoc.design_matrix(ex.covariates), variants=ex.variants)
prim = scan.scan(ukb.instruments(), a, methods=("ivw",)).primary
targets = ukb.targets()

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
threshold = ...  # alpha / the number of tests with a P value in prim
il6 = prim[prim["exposure"] == "IL-6"].set_index("idp")
findings = ...  # indexed by claim: region, published_z (the targets' z), z and p (from il6), significant
false_positives = ...
p_replicate = ...  # pd.Series indexed by claim
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
threshold = alpha / int(prim["p"].notna().sum())
il6 = prim[prim["exposure"] == "IL-6"].set_index("idp")
findings = targets.set_index("claim")[["region", "idp", "z"]].rename(columns={"z": "published_z"})
findings["z"] = il6.loc[findings["idp"], "z"].to_numpy()
findings["p"] = il6.loc[findings["idp"], "p"].to_numpy()
findings["significant"] = findings["p"] < threshold
planted = prim["exposure"].eq("IL-6") & prim["idp"].isin(targets["idp"])
false_positives = int(((prim["p"] < threshold) & ~planted).sum())
z_crit = stats.norm.isf(threshold / 2)
zp = findings["published_z"].abs()
p_replicate = pd.Series(stats.norm.cdf(zp - z_crit) + stats.norm.cdf(-zp - z_crit), index=findings.index)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q4_threshold(threshold, alpha):
    from il6repro.teaching import checks
    checks.number(threshold, "threshold", low=0, high=1)
    checks.close(threshold, alpha / 1025, "threshold", rtol=1e-6,
                 why="Bonferroni: alpha divided by all 5 x 205 = 1,025 tests of the scan")

test_q4_threshold(threshold, alpha)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q4_findings(findings, threshold, p_replicate):
    from il6repro.teaching import checks
    from il6repro.twins import ukb
    claims = ukb.targets()["claim"]
    checks.frame(findings, "findings", columns=["region", "published_z", "z", "p", "significant"], index=claims)
    assert (findings["significant"].astype(bool) == (findings["p"] < threshold)).all(), (
        "`significant` should be P below your threshold")
    checks.answered("p_replicate", p_replicate)
    assert set(p_replicate.index) == set(claims), "`p_replicate` should be indexed by the five claims"
    assert ((p_replicate >= 0) & (p_replicate <= 1)).all(), "`p_replicate` values are probabilities"

test_q4_findings(findings, threshold, p_replicate)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q4_scan(findings, false_positives, twin_seed, alpha):
    from il6repro.genetics import assoc, scan
    from il6repro.teaching import checks
    from il6repro.twins import ukb
    e, _, _ = ukb.open_extract("", seed=twin_seed)
    pr = scan.scan(ukb.instruments(), assoc.associate(e.dosages, e.idps, assoc.design_matrix(e.covariates),
                                                      variants=e.variants), methods=("ivw",)).primary
    tg = ukb.targets().set_index("claim")
    ref = pr[pr["exposure"] == "IL-6"].set_index("idp").loc[tg["idp"], "z"].to_numpy()
    checks.close(findings.loc[tg.index, "z"].to_numpy(float), ref, "findings['z']", atol=0.02,
                 why=f"IVW z of IL-6 on each planted IDP in the twin with seed {twin_seed}")
    thr = alpha / pr["p"].notna().sum()
    planted = pr["exposure"].eq("IL-6") & pr["idp"].isin(tg["idp"])
    checks.close(false_positives, int(((pr["p"] < thr) & ~planted).sum()), "false_positives", atol=0.5)

test_q4_scan(findings, false_positives, twin_seed, alpha)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q4_replicate(p_replicate, alpha):
    from scipy import stats

    from il6repro.teaching import checks
    from il6repro.twins import ukb
    tg = ukb.targets().set_index("claim")
    zc = stats.norm.isf(alpha / 1025 / 2)
    z = tg["z"].abs()
    checks.close(p_replicate.loc[tg.index], stats.norm.cdf(z - zc) + stats.norm.cdf(-z - zc), "p_replicate",
                 atol=0.005, why="Phi(|z| - z_crit) + Phi(-|z| - z_crit) at the Bonferroni threshold")

test_q4_replicate(p_replicate, alpha)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q4", findings=findings, p_replicate=p_replicate)
display(report.table(findings.assign(p_replicate=p_replicate).drop(columns=["idp"], errors="ignore")
                     .set_index("region"), "10-findings", p=["p"], precision=2, formats={"p_replicate": "{:.0%}"}))
print(f"{int(prim['p'].notna().sum()):,} tests, threshold {report.fmt_p(threshold)}; {int(findings['significant'].sum())} of 5 "
      f"published associations pass in the twin with seed {twin_seed}; {false_positives} false positive(s)")
zc = stats.norm.isf(threshold / 2)
fig, ax = plt.subplots(figsize=(6.5, 3.2))
yy = np.arange(len(findings))
ax.scatter(findings["published_z"], yy, marker="|", s=300, color="0.4", label="published z (= planted)")
sig = findings["significant"].to_numpy(bool)
ax.scatter(findings["z"][sig], yy[sig], color="C0", zorder=3, label=f"twin z (seed {twin_seed}): passes")
ax.scatter(findings["z"][~sig], yy[~sig], color="C3", zorder=3, label="twin z: does not pass")
for s in (-1, 1):
    ax.axvline(s * zc, color="0.5", ls="--", lw=0.8)
ax.set_yticks(yy, findings["region"], fontsize=8)  # p_replicate is in the table above, not here: the expected picture
# students see must not hand them the graded values
ax.set_xlabel("IVW z of IL-6 (dashed: Bonferroni threshold)")
ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
save(fig, "10_replication", caption="The five published IL-6 associations rerun on a UK Biobank twin with another seed: z in the twin (blue: passes the Bonferroni threshold; red: does not) against the published z. The probability of passing again (analytic, at the Bonferroni threshold) is in the table above; the ledger's shares are over 200 twin seeds at the paper's 1.1e-4.")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d4
# manual: true
# points: 1

# %% [markdown]
# **Discussion 4.** Which of the five published IL-6 findings would you call robust, and why? What does a rerun on
# the twin show, and what can it not show?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** Only the middle temporal association (published z 5.76) would pass again in almost every study of
# the same size; superior frontal thickness and the fusiform gyrus pass in roughly three to five studies out of six;
# the frontal and inferior temporal associations have published z's *below* the Bonferroni z of about 4.06, so a
# study of the same size would usually not find them: they passed the paper's looser threshold (1.1e-4) only with P
# values ten times smaller than their z's imply. In this twin the two strongest pass, and the fusiform
# association, which a study of this size finds about four times in five, fails: a single rerun is one draw, which
# is why the replication probability, not the pass/fail pattern of one run, is the basis for a decision. A rerun on the twin shows the sampling variability of the whole
# pipeline under a known truth (and that nothing else passes). It cannot show that the findings are true: the twin
# plants them, with no pleiotropy, population structure or measurement problems, so only new data (or the real
# extract) can test them.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
