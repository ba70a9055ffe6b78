# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · Teaching: power, weak instruments and pleiotropy in Mendelian randomization
#
# Three exercises for a course, on simulated data whose truth is known (`il6repro.teaching`). Each exercise has a
# task (markdown) and a **solution cell**, tagged `solution` in the cell metadata. `python -m il6repro teach` writes
# the student version to `build/teaching/`, where each solution is replaced by its hints and a stub that raises
# `NotImplementedError`. The estimators are the project's own (`il6repro.genetics.mr`, `.onesample`), the ones the
# paper's notebooks use.
#
# Why it matters for study W: the IL-6 instruments explain a small share of IL-6 signalling, so power, instrument
# strength and pleiotropy decide what a null or a hit in notebook 02 can mean.

# %% tags=["parameters"]
seed = 2024  # seed of every simulation in this notebook
n_rep = 200  # simulated studies per setting (more: smoother curves, slower)
theta = 0.05  # true causal effect, outcome SD per exposure SD

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from il6repro import teaching
from il6repro.figures import save, set_style
from il6repro.genetics import mr

set_style()
rng = np.random.default_rng(seed)

# %% [markdown]
# ## Exercise 1: power of MR against sample size and instrument strength
#
# `teaching.mr_power(n, r2, theta)` gives the analytic power of IVW MR (Burgess 2014). **Task:** for `r2` in
# 0.2%, 1% and 5% of exposure variance explained, compute the power to detect `theta` at alpha = 0.05 for N from
# 2,000 to 500,000, and store it in a DataFrame `power` with columns `n`, `r2`, `power`. Then check one point by
# simulation: with `teaching.simulate_summary(n, r2, theta, n_rep=n_rep)` and `mr.ivw`, the share of studies with
# P < 0.05 should match the formula within Monte-Carlo error. At the paper's N = 20,688, how large must `r2` be?

# %% tags=["solution"]
# Exercise 1: a grid of n x r2 through teaching.mr_power, then one point checked by simulation with mr.ivw
ns = np.unique(np.round(np.logspace(np.log10(2_000), np.log10(500_000), 25)).astype(int))
power = pd.DataFrame([{"n": n, "r2": r2, "power": teaching.mr_power(n, r2, theta)}
                      for r2 in (0.002, 0.01, 0.05) for n in ns])
check_n, check_r2 = 20_688, 0.05
sims = teaching.simulate_summary(check_n, check_r2, theta, n_rep=n_rep, seed=seed)
hits = [mr.ivw(g.bx, g.bxse, g.by, g.byse, model="fixed").p < 0.05 for _, g in sims.groupby("rep")]
simulated = float(np.mean(hits))

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for r2, sub in power.groupby("r2"):
    ax.plot(sub["n"], sub["power"], label=f"R\u00b2 = {r2:.1%}")
ax.axvline(20_688, color="0.5", ls=":", lw=0.8)
ax.set_xscale("log")
ax.set_xlabel("N (outcome GWAS)")
ax.set_ylabel("power (alpha 0.05)")
ax.set_title(f"IVW MR power for theta = {theta} SD/SD")
ax.legend(fontsize=8)
save(fig, "10_mr_power", caption="Analytic power of IVW MR against N for three instrument strengths.")
plt.show()
mc_se = np.sqrt(simulated * (1 - simulated) / n_rep)
print(f"N = {check_n:,}, R2 = {check_r2:.0%}: analytic power {teaching.mr_power(check_n, check_r2, theta):.3f}, "
      f"simulated {simulated:.3f} (Monte-Carlo SE {mc_se:.3f}, {n_rep} studies)")

# %% [markdown]
# ## Exercise 2: weak-instrument bias in one-sample 2SLS
#
# In one sample the confounder biases ordinary least squares; 2SLS removes that bias only if the instruments are
# strong. **Task:** with `teaching.simulate_individual(n=5000, r2=r2, theta=0, seed=...)` (true effect zero) and
# `teaching.tsls_estimate(sim)`, run `n_rep // 4` simulations for each `r2` in 0.1%, 0.3%, 1% and 5%, and collect the
# median 2SLS estimate, the mean first-stage F and the mean OLS estimate per `r2` in a DataFrame `weak` with columns
# `r2`, `F`, `tsls_median`, `ols_mean`. Where does 2SLS move when F is small?

# %% tags=["solution"]
# Exercise 2: simulate for each r2 (true effect 0), estimate by 2SLS and OLS, summarise per r2
rows = []
for r2 in (0.001, 0.003, 0.01, 0.05):
    est = pd.DataFrame([teaching.tsls_estimate(teaching.simulate_individual(5000, r2, 0.0, seed=seed + k))
                        for k in range(n_rep // 4)])
    rows.append({"r2": r2, "F": est["F"].mean(), "tsls_median": est["tsls"].median(), "ols_mean": est["ols"].mean()})
weak = pd.DataFrame(rows)

# %%
display(weak.round(3))
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(weak["F"], weak["tsls_median"], "o-", label="2SLS (median)")
ax.axhline(weak["ols_mean"].mean(), color="C3", ls="--", label="OLS (confounded)")
ax.axhline(0, color="0.3", lw=0.8, label="truth")
ax.set_xscale("log")
ax.set_xlabel("mean first-stage F")
ax.set_ylabel("estimate (true effect 0)")
ax.legend(fontsize=8)
save(fig, "10_weak_instruments", caption="Median 2SLS estimate against first-stage F: weak instruments pull 2SLS "
     "towards the confounded OLS estimate.")
plt.show()

# %% [markdown]
# ## Exercise 3: directional pleiotropy, IVW and MR-Egger
#
# Give every variant a direct effect on the outcome with mean 0.01 SD (directional pleiotropy) that is independent of
# its effect on the exposure (InSIDE). **Task:** simulate `n_rep` studies with `teaching.simulate_summary(20_000, 0.05,
# theta, n_snps=30, n_rep=n_rep, pleiotropy_mean=0.01, pleiotropy_sd=0.01, seed=seed)`; estimate each by `mr.ivw`
# (random effects) and `mr.egger`; put estimates in a DataFrame `pleio` with columns `method` and `estimate`, and the
# share of studies whose MR-Egger intercept has P < 0.05 in `intercept_detected`. Which estimator is biased? What
# does Egger pay for its lack of bias?

# %% tags=["solution"]
# Exercise 3: simulate with directional pleiotropy; estimate IVW and MR-Egger per study; test the intercept
sims = teaching.simulate_summary(20_000, 0.05, theta, n_snps=30, n_rep=n_rep, pleiotropy_mean=0.01,
                                 pleiotropy_sd=0.01, seed=seed)
rows, intercept_p = [], []
for _, g in sims.groupby("rep"):
    rows.append({"method": "IVW", "estimate": mr.ivw(g.bx, g.bxse, g.by, g.byse, model="random").estimate})
    eg = mr.egger(g.bx, g.bxse, g.by, g.byse)
    rows.append({"method": "MR-Egger", "estimate": eg.estimate})
    intercept_p.append(eg.extra["intercept_p"])
pleio = pd.DataFrame(rows)
intercept_detected = float(np.mean(np.array(intercept_p) < 0.05))

# %%
summary = pleio.groupby("method")["estimate"].agg(["mean", "std"]).assign(bias=lambda d: d["mean"] - theta)
display(summary.round(4))
print(f"MR-Egger intercept P < 0.05 in {intercept_detected:.0%} of {n_rep} studies")
fig, ax = plt.subplots(figsize=(6, 3.2))
for i, (m, sub) in enumerate(pleio.groupby("method")):
    ax.hist(sub["estimate"], bins=30, alpha=0.6, color=f"C{i}", label=m)
ax.axvline(theta, color="0.2", lw=1, label="truth")
ax.set_xlabel("estimate")
ax.legend(fontsize=8)
save(fig, "10_pleiotropy", caption="IVW and MR-Egger estimates under directional pleiotropy (InSIDE holds).")
plt.show()
