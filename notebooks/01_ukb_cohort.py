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
# `ukb_instruments.raw` to run the same notebook on real data.
#
# The genetic instruments are real variants with published effects where a SNP-level number is public offline
# (cited per row in `data_manifest/ukb/instruments.csv`); where none is, the value is labelled *illustrative*.

# %% tags=["parameters"]
extract = ""  # empty: the synthetic twin; or a directory with ukb_participants.csv + ukb_instruments.raw
seed = 20220101  # twin seed
n = 20688  # twin sample size
calibrate_to = "z"  # twin calibration: "z" (published z's) or "p" (z implied by the published P values)
pleiotropy_sd = 0.0  # SD of planted SNP-specific direct effects (units of the SNP-outcome SE)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from il6repro import ledger, methods
from il6repro.figures import save, set_style
from il6repro.genetics import assoc, onesample
from il6repro.twins import ukb

set_style()
ex, twin_path, is_twin = ukb.open_extract(extract, seed=seed, n=n, calibrate_to=calibrate_to,
                                          pleiotropy_sd=pleiotropy_sd)
kind = "planted_twin" if is_twin else "real_data"
print(f"{'synthetic twin' if is_twin else 'real extract'}: {ex.n:,} participants, {ex.idps.shape[1]} IDPs, "
      f"{ex.dosages.shape[1]} instruments")
for note in ex.notes:
    print("note:", note)

# %% [markdown]
# ## Table 1
#
# Aggregated only (cells under 10 people suppressed); no participant-level value is shown.

# %%
table1 = ukb.describe(ex)
table1

# %%
t = ex.table1
female_pct = 100 * float((t["sex"] == 0).mean())
mean_age = float(t["age_recruitment"].mean()) if "age_recruitment" in t else float("nan")
cohort_kind = "design_input" if is_twin else "real_data"
ledger.record("W.ukb.n", ex.n, kind=cohort_kind, note="twin size is a parameter" if is_twin else "")
ledger.record("W.ukb.female_pct", round(female_pct, 1), kind=cohort_kind,
              note="the twin has exactly round(0.523 N) women" if is_twin else "")
ledger.record("W.ukb.mean_age", round(mean_age, 1), kind=cohort_kind,
              note="age at recruitment (field 21022, whole years); the twin's sum to exactly 55.5 N" if is_twin else "")
pd.Series({"female (%)": round(female_pct, 1), "mean age at recruitment": round(mean_age, 1)})

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
prov = ins.assign(illustrative=ins["illustrative"].replace("", "none")).groupby("exposure", sort=False).agg(
    variants=("snp", "size"), source=("citation", "first"), illustrative_fields=("illustrative", "first"))
prov

# %% [markdown]
# ## Instrument strength
#
# F statistics per variant are `(beta/SE)^2` of the cited SNP-exposure associations; R^2 is unit-free from the t
# statistics and the GWAS sample size. For the two exposures measured in UK Biobank (CRP, field 30710; IL-6
# signalling acts through it) the first-stage F and R^2 are also computed on the individual data, as a one-sample
# analysis would.

# %%
ins["F"] = (ins["beta"] / ins["se"]) ** 2
ins["R2"] = onesample.r2_from_t(ins["beta"], ins["se"], ins["n"])
strength = ins.groupby("exposure", sort=False).agg(variants=("snp", "size"), F_mean=("F", "mean"),
                                                    F_min=("F", "min"), R2_total=("R2", "sum"))
X = assoc.design_matrix(ex.covariates)
if "log_crp" in ex.exposure:
    for exp in ("IL-6", "CRP"):
        Z = ex.dosages[ins.loc[ins.exposure == exp, "snp"]]
        fs = onesample.tsls(ex.idps.iloc[:, :1], ex.exposure["log_crp"], Z, X)
        strength.loc[exp, "first_stage_F (individual data)"] = fs["first_stage_F"].iloc[0]
        strength.loc[exp, "first_stage_R2 (individual data)"] = fs["first_stage_R2"].iloc[0]
strength.round(4)

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.2))
sns.stripplot(data=ins, x="exposure", y="F", hue="exposure", ax=ax, size=5, legend=False)
ax.axhline(10, color="0.4", ls="--", lw=0.8)
ax.set_yscale("log")
ax.set_ylabel("F statistic per variant (log scale)")
ax.set_title("Instrument strength (cited SNP-exposure statistics; dashed: F = 10)")
save(fig, "01_instrument_strength", caption="F statistic of each instrument by exposure; dashed line F = 10.")
plt.show()

# %% [markdown]
# ## How the IDPs relate to each other
#
# Regional volumes and thicknesses are correlated (a shared global factor and a measure-specific factor in the
# twin); this is why a Bonferroni correction over all tests is conservative (notebook 02 computes the effective
# number of tests too). The matrix is of covariate-adjusted IDPs, aggregated over all participants.

# %%
ok = ex.idps.dropna().index
Y = ex.idps.loc[ok]
Xm = X.loc[ok].to_numpy(float)
resid = Y.to_numpy(float) - Xm @ np.linalg.lstsq(Xm, Y.to_numpy(float), rcond=None)[0]
corr = np.corrcoef(resid, rowvar=False)
order = np.argsort([c.split("_")[0] + c for c in Y.columns])
fig, ax = plt.subplots(figsize=(5.5, 4.6))
sns.heatmap(corr[np.ix_(order, order)], cmap="vlag", vmin=-1, vmax=1, ax=ax, xticklabels=False,
            yticklabels=False, cbar_kws={"label": "correlation"})
ax.set_title(f"{Y.shape[1]} IDPs after covariate adjustment (GMV first, then CT)")
save(fig, "01_idp_correlation", caption="Correlation of covariate-adjusted IDPs.")
plt.show()

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer resolved); the site collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.ukb_cohort(is_twin=is_twin, extract=extract, n=ex.n,
                                 n_gmv=int((ex.idp_info["measure"] == "gmv").sum()),
                                 n_ct=int((ex.idp_info["measure"] == "ct").sum()), n_instruments=len(ins),
                                 exposures=list(ins["exposure"].unique()), seed=seed, calibrate_to=calibrate_to,
                                 pleiotropy_sd=pleiotropy_sd), title="UK Biobank cohort and instruments")
