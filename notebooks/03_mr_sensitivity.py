# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Sensitivity of the IL-6 associations
#
# For the five published IL-6 associations: the robust estimators (MR-Egger with its intercept, weighted and simple
# median, weighted mode), heterogeneity (Cochran's Q, Rucker's Q', I²GX), leave-one-out, Steiger directionality and
# a one-sample 2SLS on the individual data (IL6R variants instrumenting measured CRP, field 30710). The estimators are
# those of R MendelianRandomization (pinned to its documented example in the tests), computed for all pairs at once.
# On the twin, with no pleiotropy planted (`pleiotropy_sd = 0`), all methods should agree within sampling error; set
# `pleiotropy_sd` (and see course unit (a), notebook 10, Exercise 3 on pleiotropy) to watch IVW and Egger part ways.

# %% tags=["parameters"]
extract: "Extract" = ""  # empty: the synthetic twin; or a folder with ukb_participants.csv + ukb_instruments.raw
outcomes: "Choice[twin, opengwas]" = "twin"  # SNP-outcome effects: the twin (or extract), or the real UK Biobank brain-IDP GWAS on OpenGWAS (ubm-b; notebook 02's cached query)
seed: "Seed" = 20220101  # twin seed
n: "SampleSize" = 20688  # twin sample size
calibrate_to: "Choice[z, p]" = "z"  # twin calibration: the published z's or the z's implied by the published P's
pleiotropy_sd: "NonNegative" = 0.0  # SD of planted SNP-specific direct effects (units of the SNP-outcome SE)
n_boot: "Draws" = 1000  # bootstrap draws for the median and mode SEs
boot_seed: "Seed" = 314159265  # their seed
egger_distribution: "Choice[normal, t]" = "normal"  # MR-Egger inference: normal (MendelianRandomization default) or t
ivw_model: "Choice[fixed, random, default]" = "fixed"  # IVW model
n_seeds: "Or[Choice[0], IntRange[2, 10000]]" = 200  # twin seeds for each planted association's over-seeds distribution (cached in build/overseeds; 0 skips)

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
from il6repro import methods, overseeds, report
from il6repro.figures import save, set_style
from il6repro.genetics import harmonise, pipeline, plots
from il6repro.twins import ukb

set_style()
ex, twin_path, is_twin, kind = pipeline.open_outcomes(outcomes, extract, seed=seed, n=n, calibrate_to=calibrate_to,
                                                      pleiotropy_sd=pleiotropy_sd)
if outcomes == "opengwas":  # notebook 02's query, read from its cache; the 2SLS below needs individual data
    display(report.table(ex.describe(), "03-opengwas"))
tg = ukb.targets()
res, a, il6, label = pipeline.sensitivity_scan(ex, ukb.instruments(), tg, n_boot=n_boot, boot_seed=boot_seed,
                                               egger_distribution=egger_distribution, ivw_model=ivw_model)

# %% [markdown]
# ## All estimators
#
# z of each estimator for each published association (rows), beside the published (IVW) z — with no pleiotropy
# planted they should agree within sampling error; then every estimate with its CI and P.

# %%
est = res.estimates.assign(region=res.estimates["idp"].map(label))
report.table(est.pivot(index="region", columns="method", values="z").join(tg.set_index("region")["z"].rename(
    "published z (IVW)")), "03-z-by-method", precision=2)

# %%
report.conclusion("the IL-6 associations are effects of IL-6 signalling, robust to pleiotropy (the abstract "
                  "reports no sensitivity numbers)", *pipeline.sensitivity_conclusion(res, tg),
                  kind)

# %%
report.table(est[["region", "method", "estimate", "se", "ci_low", "ci_high", "p", "note"]].rename(
    columns={"se": "SE", "ci_low": "95% CI low", "ci_high": "95% CI high", "p": "P"}), "03-est", p=["P"],
    precision=4, index=False)

# %% [markdown]
# ## Heterogeneity and pleiotropy
#
# Cochran's Q (IVW) and Rucker's Q' (Egger) with their P, I², the Egger intercept (directional pleiotropy) and
# I²GX (regression dilution of MR-Egger; below 0.9 Egger is diluted toward zero).
#
# On the twin the five regions share each variant's chance association with the IDPs' shared factors, so their
# Egger intercepts move together from draw to draw (correlated about 0.5 between the volume IDPs over twin seeds
# 1-1,000), and an intercept pulls its Egger slope the other way by about intercept / mean |beta_X|. Over those
# seeds the intercepts are centred on zero (no pleiotropy is planted) and the five share a sign in about one draw
# in four. The default seed is a tail draw: all five intercepts positive, the middle temporal one above 99.9% of the
# seeds, so here every Egger slope sits below its IVW estimate (README, "MR-Egger on the twin").

# %%
het = res.heterogeneity.assign(region=res.heterogeneity["idp"].map(label)).set_index("region")
report.table(het[["Q", "Q_df", "Q_p", "I2", "Q_rucker", "Q_rucker_p", "intercept", "intercept_se", "intercept_p",
                  "I2_GX"]], "03-het", p=["Q_p", "Q_rucker_p", "intercept_p"], precision=4)

# %% [markdown]
# ## Steiger directionality and one-sample 2SLS
#
# Steiger compares the variance the variants explain in the exposure (unit-free, from the CRP GWAS t statistics and
# its sample size) with that in each IDP. 2SLS uses the individual data: IDP (SD units) on log CRP instrumented by the
# 10 IL6R variants, same covariates; its estimate is per unit of IL6R-driven log CRP, the scale of the IVW estimate.

# %%
st = res.steiger.assign(region=res.steiger["idp"].map(label)).set_index("region")
report.table(st[["r2_exposure", "r2_outcome", "correct_direction", "steiger_p", "note"]], "03-steiger",
             p=["steiger_p"], formats={"r2_exposure": "{:.2e}", "r2_outcome": "{:.2e}"})

# %%
tsls = pipeline.tsls_versus_ivw(ex, il6, tg, res)
report.table(tsls, "03-tsls", p=["P"], precision=4) if tsls is not None else \
    "no measured CRP here (an extract without it, or summary statistics): 2SLS not applicable"

# %% [markdown]
# ## Plots for the middle temporal gyrus and the other hits

# %%
harm = {t.idp: harmonise.harmonise(il6.drop(columns="exposure"), a[a.idp == t.idp])[0] for t in tg.itertuples()}
save(plots.sensitivity_panels(harm, res.estimates, label, units=il6["units"].iloc[0].split(" (")[0]), "03_scatter",
     caption="SNP-IDP vs SNP-exposure effects with IVW, MR-Egger and weighted-median lines.")

# %%
mtg = tg["idp"].iloc[0]
save(plots.diagnostics(res.single_snp[res.single_snp.idp == mtg], res.leave_one_out[res.leave_one_out.idp == mtg],
                       float(res.primary.set_index("idp").loc[mtg, "estimate"]), f"IL-6 → {label[mtg]}"),
     "03_mtg_diagnostics", caption="Funnel, single-SNP forest and leave-one-out plots for IL-6 → MTG GMV.")

# %% [markdown]
# ## Each planted association over many twin seeds (twin only)
#
# One twin is one draw. The same twin (these parameters, seeds 1 to `n_seeds`; only the planted IDPs are drawn,
# identical to the full twin's) through notebook 02's own association and IVW: the median and central 95% range of
# each number, how often the claim's rule is met, and how often the paper's conclusion (P < 1.1e-4, published sign)
# holds - the twin's power for it, with its exact 95% CI. The ledger (notebook 09) judges the twin's claims on this
# distribution and shows this run's draw as such.

# %%
if is_twin and n_seeds:
    draws = overseeds.ukb_draws(n_seeds, n=n, calibrate_to=calibrate_to, pleiotropy_sd=pleiotropy_sd,
                                ivw_model=ivw_model)
    display(overseeds.table(overseeds.record(draws), "03-overseeds"))

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer
# resolved); the book collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.mr_sensitivity(n_boot=n_boot, boot_seed=boot_seed, egger_distribution=egger_distribution,
                                     ivw_model=ivw_model, n_outcomes=len(tg), n_variants=len(il6)),
              title="MR sensitivity analyses")
