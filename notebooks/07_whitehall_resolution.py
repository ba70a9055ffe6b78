# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Whitehall II: IL-6 and recovery from psychological distress
#
# Virtanen et al. 2015: among GHQ-30 cases at the three IL-6 examinations (phases 3, 5, 7), is low IL-6 followed by
# symptom resolution at the next GHQ examination? Risk ratios (low vs high IL-6) by log-link Poisson regression with
# cluster-robust (person) variance and by GEE, adjusted for age and sex, then for socioeconomic position (employment
# grade), smoking, BMI, chronic disease and medication.
#
# **What this shows on the twin.** Whitehall II is access-controlled, so this runs on a synthetic twin in the
# documented wide layout (`data_manifest/whitehall/layout.yaml`), with the published risk ratios planted (expected
# estimates 1.15 and 1.21 at the published size). Recovering them tests the pipeline, not the finding; the ledger
# says *recovered from a planted twin*. The cohort size, ages, phases and follow-up are design inputs of the twin.
#
# **Assumptions** (the abstract does not give them; each is a parameter): *low* = below the phase median of IL-6;
# *resolution* = not a case (GHQ < 5) at the next attended GHQ examination; the twin's caseness prevalence,
# incidence and share of attendees with IL-6 (set so about 2,419 case-observations result).
#
# Run it on your own extract with `extract=/secure/whitehall_wide.csv` (from the runner: `-p whitehall.extract=...`); scores outside 0-30 stop the run unless
# `on_bad_ghq="missing"` (then they are treated as missing and counted).

# %% tags=["parameters"]
extract: "Extract" = ""  # empty: the synthetic twin; or a CSV in the documented wide layout
seed: "Seed" = 19850101  # twin seed
n: "SampleSize" = 10308  # twin size (Whitehall II phase 1)
case_threshold: "IntRange[1, 30]" = 5  # GHQ-30 caseness: score at or above this
resolution: "Choice[next, last]" = "next"  # resolved: not a case at the next (or the last) attended GHQ examination
il6_cut: "Or[Choice[median], Positive]" = "median"  # low IL-6: below the phase median, or below this many pg/mL
on_bad_ghq: "Choice[error, missing]" = "error"  # a real extract's GHQ-30 score outside 0-30: stop, or treat as missing
n_seeds: "Or[Choice[0], IntRange[2, 10000]]" = 200  # twin seeds for the over-seeds distributions the claims below are judged on (shown in notebook 08; cached in build/overseeds; 0: this draw only)

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
from il6repro import charts, cohort, methods, overseeds, report
from il6repro.figures import save, set_style
from il6repro.twins import whitehall

set_style()
df, twin_path, is_twin = whitehall.open_table(extract, seed=seed, n=n, on_bad_ghq=on_bad_ghq)
kind = "planted_twin" if is_twin else "real_data"
print(f"{len(df):,} participants ({'synthetic twin' if is_twin else 'real extract'})",
      *[f"note: {note}" for note in df.attrs.get("notes", [])], sep="\n")
report.table(cohort.describe(df), "07-describe", precision=2)

# %% [markdown]
# ## Who enters the analysis

# %%
obs = cohort.person_observations(df, case_threshold=case_threshold, resolution=resolution, il6_cut=il6_cut)
print(f"{len(obs):,} case-observations from {obs.stno.nunique():,} participants; {cohort.age_span(obs)}; "
      f"mean follow-up to the next examination {obs.followup_years.mean():.1f} years; "
      f"{100 * obs.resolved.mean():.1f}% resolved; IL-6 cut-offs (pg/mL): "
      + ", ".join(f"phase {k}: {v:.2f}" for k, v in obs.attrs["cuts"].items()))
flow = cohort.flow_for_display(obs.attrs["flow"])  # counts under 10 hidden, and one more of each sum they enter
report.table(flow, "07-flow")

# %%
save(charts.flow_diagram(flow, len(obs)), "07_flow",
     caption="Flow of participants from attendance to analysed GHQ-case observations, per phase.")

# %% [markdown]
# The study design as published beside this cohort's (on the twin these are design inputs, not findings).

# %%
design = cohort.record_design(obs, is_twin=is_twin, resolution=resolution, n_il6_phases=len(whitehall.IL6_PHASES),
                              n_ghq_phases=len(whitehall.GHQ_PHASES))
report.claims_table(design, uuid="07-design")

# %% [markdown]
# ## What "mean follow-up 6.5 years" can mean
#
# The abstract does not define follow-up. The mean under each definition consistent with "followed up for symptom
# resolution in the subsequent examinations", then the gaps between the published examination windows: per
# observation to the next examination, cases at phases 3, 5 and 7 are followed for about 6, 5 and 3 years, so that
# definition cannot average 6.5 without many skipped examinations. Per participant (first analysed baseline to the
# last follow-up examination) it can, and the ledger uses it; the twin places its phase-3 fieldwork inside 1991-93
# so that it does.

# %%
display(report.table(cohort.followup_definitions(df, obs).set_index("definition").rename(index=report.header),
                     "07-followup", precision=2))
report.table(cohort.followup_arithmetic().set_index(["baseline phase", "follow-up phase"]), "07-gaps", precision=2)

# %% [markdown]
# ## Risk ratios of symptom resolution, low vs high IL-6

# %%
rr = cohort.risk_ratio_table(obs, "low")
report.table(rr.drop(columns="label"), "07-rr", p=["P"], index=False)

# %%
setup = overseeds.whitehall_setup(n=n, case_threshold=case_threshold, resolution=resolution,
                                  il6_cut=il6_cut) if is_twin else None  # pairs with 08's over-seeds
claims = cohort.record_low_vs_high(rr, kind=kind, is_twin=is_twin, setup=setup)
# the twin's claims over seeds, as the ledger judges them (notebook 08 shows the distributions)
if is_twin and n_seeds:
    overseeds.record(overseeds.whitehall_draws(n_seeds, n=n, case_threshold=case_threshold, resolution=resolution,
                                               il6_cut=il6_cut))
report.claims_table(claims, uuid="07-claims")

# %%
report.conclusion("relative to high IL-6, low IL-6 at baseline is associated with symptom resolution (RR 1.15, "
                  "95% CI 1.06-1.25), and further adjustment changes little", *cohort.rr_verdict(rr.iloc[0]), kind)

# %%
save(charts.rr_forest(rr, published=1.15, published_ci=(1.06, 1.25), published_rows=rr["model"] == "age and sex",
                      xlabel="risk ratio of symptom resolution, low vs high IL-6"), "07_forest",
     caption="Risk ratios of symptom resolution (low vs high IL-6) with 95% CIs; published 1.15 (1.06-1.25), "
             "shaded on the age- and sex-adjusted rows (the abstract says only that further adjustment had little "
             "effect).")

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer
# resolved); the book collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.whitehall_cohort(is_twin=is_twin, extract=extract, n=len(df), seed=seed,
                                       case_threshold=case_threshold, resolution=resolution, il6_cut=il6_cut,
                                       n_obs=len(obs), n_persons=obs["stno"].nunique(), age_sex=cohort.AGE_SEX,
                                       full=cohort.FULL),
              title="Whitehall II: IL-6 and resolution of distress")
