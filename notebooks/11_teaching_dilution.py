# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 11 · Teaching: regression dilution when IL-6 is measured once or repeatedly
#
# Study V found a stronger association with *repeatedly* low IL-6 (RR 1.21) than with low IL-6 at one examination
# (RR 1.15). One reason to expect that is regression dilution: a single IL-6 measurement is a noisy proxy of a
# person's usual level, and misclassifying people as low or high pulls a risk ratio towards 1. The exercises use
# `teaching.simulate_dilution` (truth known) and the project's risk-ratio estimator `cohort.risk_ratio` (Poisson,
# cluster-robust SE, tested against R in `tests/test_cohort.py`).
#
# Solution cells are tagged `solution`; `python -m il6repro teach` writes the student version to `build/teaching/`.
# No individual row of the simulated data is displayed: only aggregates, as in the study notebooks.

# %% tags=["parameters"]
seed = 2024  # simulation seed
n_persons = 4000  # simulated GHQ cases
rr_true = 1.3  # risk ratio of resolution for usually low vs usually high IL-6

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from il6repro import cohort, teaching
from il6repro.figures import save, set_style

set_style()

# %% [markdown]
# ## Exercise 1: one measurement against the usual level
#
# **Task:** simulate `n_persons` cases with reliability 0.5 (the intraclass correlation of IL-6 measured years apart
# is of that order) and estimate the risk ratio of resolution for low IL-6 classified three ways: by the usual level
# (`low_usual`, unobservable in practice), by one measurement (`low_1`) and by the mean of two (`low_mean`). Adjust
# for age and sex with `cohort.risk_ratio(data, exposure, ["age", "female"])` and collect the three results in a
# DataFrame `rr` indexed by exposure with columns `rr`, `ci_low`, `ci_high`.

# %% tags=["solution"]
# Exercise 1: one simulation, three classifications of low IL-6, one risk ratio each
sim = teaching.simulate_dilution(n_persons, rr_true, reliability=0.5, seed=seed)
rr = pd.DataFrame({x: cohort.risk_ratio(sim, x, ["age", "female"]) for x in ("low_usual", "low_1", "low_mean")}).T
rr = rr[["rr", "ci_low", "ci_high"]].astype(float)

# %%
display(rr.round(3))
print(f"planted RR {rr_true}; one measurement recovers {rr.loc['low_1', 'rr']:.3f}, "
      f"the mean of two {rr.loc['low_mean', 'rr']:.3f}")

# %% [markdown]
# ## Exercise 2: attenuation against reliability
#
# **Task:** for reliability 0.2, 0.4, 0.6, 0.8 and 1.0, simulate 20 studies each (seeds `seed + k`) and record the mean
# log risk ratio for one measurement and for the mean of two, as a share of the planted log RR. Store the result in a
# DataFrame `dilution` with columns `reliability`, `one measure`, `mean of two`. How much of the gap between 1.15 and
# 1.21 in study V could dilution explain?

# %% tags=["solution"]
# Exercise 2: repeat the simulation over reliabilities; average log RR / planted log RR
rows = []
for rel in (0.2, 0.4, 0.6, 0.8, 1.0):
    one, two = [], []
    for k in range(20):
        s = teaching.simulate_dilution(n_persons, rr_true, reliability=rel, seed=seed + k)
        one.append(cohort.risk_ratio(s, "low_1", ["age", "female"])["log_rr"])
        two.append(cohort.risk_ratio(s, "low_mean", ["age", "female"])["log_rr"])
    rows.append({"reliability": rel, "one measure": np.mean(one) / np.log(rr_true),
                 "mean of two": np.mean(two) / np.log(rr_true)})
dilution = pd.DataFrame(rows)

# %%
display(dilution.round(3))
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(dilution["reliability"], dilution["one measure"], "o-", label="one measurement")
ax.plot(dilution["reliability"], dilution["mean of two"], "s-", label="mean of two measurements")
ax.axhline(1, color="0.3", lw=0.8)
ax.set_xlabel("reliability of one IL-6 measurement (ICC)")
ax.set_ylabel("estimated / planted log RR")
ax.set_ylim(0, 1.1)
ax.legend(fontsize=8)
save(fig, "11_dilution", caption="Regression dilution of a risk ratio when low IL-6 is classified from one "
     "measurement or the mean of two.")
plt.show()
