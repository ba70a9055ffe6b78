# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · UK Biobank cohort (synthetic twin) and instrument strength
#
# Study W analysed 20,688 UK Biobank participants with genotypes and brain MRI (52.3% female, mean age 55.5 years).
# Individual-level UK Biobank data are access-controlled, so this notebook runs on a **synthetic twin** written in
# the layout of a real extract (a ukbconv-style participant table keyed by `eid` and the instrument dosages as
# `plink2 --export A include-alt` writes them; `data_manifest/ukb/columns.yaml` maps the columns). Cohort size,
# sex ratio and age are *inputs* of the twin, so the ledger marks them *set by design*; they are shown to check the
# twin is what it claims. Set `extract` to a directory holding your own `ukb_participants.csv` and
# `ukb_instruments.raw` to run the same notebook on real data (from the runner: `-p ukb.extract=FOLDER`).
#
# The genetic instruments are real variants with published effects where a SNP-level number is public offline
# (cited per row in `data_manifest/ukb/instruments.csv`); where none is, the value is labelled *illustrative*.

# %% tags=["parameters"]
extract: "Extract" = ""  # empty: the synthetic twin; or a folder with ukb_participants.csv + ukb_instruments.raw
seed: "Seed" = 20220101  # twin seed
n: "SampleSize" = 20688  # twin sample size
calibrate_to: "Choice[z, p]" = "z"  # twin calibration: the published z's ("z") or the z's implied by the published P's ("p")
pleiotropy_sd: "NonNegative" = 0.0  # SD of planted SNP-specific direct effects (units of the SNP-outcome SE)

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
from il6repro import methods, report
from il6repro.figures import save, set_style
from il6repro.genetics import assoc, pipeline, plots
from il6repro.twins import ukb

set_style()
ex, twin_path, is_twin = ukb.open_extract(extract, seed=seed, n=n, calibrate_to=calibrate_to,
                                          pleiotropy_sd=pleiotropy_sd)
X = assoc.design_matrix(ex.covariates)
print(f"{'synthetic twin' if is_twin else 'real extract'}: {ex.n:,} participants, {ex.idps.shape[1]} IDPs, "
      f"{ex.dosages.shape[1]} instruments", *[f"note: {note}" for note in ex.notes], sep="\n")

# %% [markdown]
# ## Table 1
#
# Aggregated only (cells under 10 people suppressed); no participant-level value is shown.

# %%
report.table(ukb.describe(ex).reset_index(), "01-table1", index=False)

# %% [markdown]
# The published cohort beside this one. On the twin these are inputs (*set by design*), shown to check the twin is
# what it claims; on a real extract they are the real figures.

# %%
cohort_claims = pipeline.record_cohort(ex, is_twin)
report.claims_table(cohort_claims, uuid="01-cohort")

# %% [markdown]
# ## The instruments: what is cited and what is illustrative
#
# IL-6 signalling is proxied by 10 *cis*-IL6R variants with their effects on CRP in UK Biobank (CHARGE 2023
# workshop subset); CRP by the Dehghan et al. 2011 loci (the IL6R locus left out, so the two proxies are disjoint);
# IL-1 by the IL1RN variant of IL-1Ra (Matteini et al. 2013); IL-2 by four IL2RA variants of soluble IL-2Ra whose P
# values are cited (Durda et al. 2015) but whose effect sizes are not public offline (back-derived, labelled
# illustrative); BDNF has no public SNP-level pQTL offline, so one labelled illustrative variant (rs6265) carries it.

# %%
ins = ukb.instruments()
report.table(pipeline.instrument_provenance(ins, ex), "01-instruments")  # with how many the extract supplies

# %% [markdown]
# ## Instrument strength
#
# F statistics per variant are `(beta/SE)^2` of the cited SNP-exposure associations; R^2 is unit-free from the t
# statistics and the GWAS sample size. For the two exposures measured in UK Biobank (CRP, field 30710; IL-6
# signalling acts through it) the first-stage F and R^2 are also computed on the individual data, as a one-sample
# analysis would. An F below 10 marks a weak instrument.

# %%
strength = pipeline.instrument_strength(ins, ex, X)
report.table(strength, "01-strength", precision=4,  # F to one decimal, R² to four
             formats={c: "{:,.1f}" for c in ("F_mean", "F_min", "first-stage F (individual data)")})

# %%
save(plots.instrument_strength(ins), "01_instrument_strength", cohort_data=False,  # cited statistics, no twin
     caption="F statistic of each instrument by exposure (log scale), from the cited SNP-exposure statistics; "
     "hollow: effect size or SE illustrative, not cited; dashed line F = 10.")

# %% [markdown]
# ## How the IDPs relate to each other
#
# Regional volumes and thicknesses are correlated (a shared global factor and a measure-specific factor in the
# twin); this is why a Bonferroni correction over all tests is conservative (notebook 02 computes the effective
# number of tests too). The matrix is of covariate-adjusted IDPs, aggregated over all participants.

# %%
corr = pipeline.idp_correlation(ex.idps, X)
save(plots.correlation_heatmap(corr, f"{corr.shape[0]} IDPs after covariate adjustment (GMV first, then CT)"),
     "01_idp_correlation", caption="Correlation of the covariate-adjusted IDPs (grey-matter volumes, then thicknesses).")

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer
# resolved); the book collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.ukb_cohort(is_twin=is_twin, extract=extract, n=ex.n,
                                 n_gmv=int((ex.idp_info["measure"] == "gmv").sum()),
                                 n_ct=int((ex.idp_info["measure"] == "ct").sum()), n_instruments=len(ins),
                                 exposures=list(ins["exposure"].unique()), seed=seed, calibrate_to=calibrate_to,
                                 pleiotropy_sd=pleiotropy_sd, illustrative=pipeline.illustrative_exposures(ins)),
              title="UK Biobank cohort and instruments")
