# ---
# jupyter:
#   il6repro:
#     depends:
#     - 02_mr_scan
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · AHBA: genes preferentially expressed in the middle temporal gyrus, and spatial correspondence
#
# **Real data.** The Allen Human Brain Atlas microarray, parcellated to the 83 Desikan-Killiany regions and averaged
# over the 6 donors (abagen pipeline; matrix carried in the `imaging-transcriptomics==1.0.3` wheel, sha256-verified by
# the data layer). Right-hemisphere values rest on the two donors sampled there, so the left hemisphere is the primary
# analysis and both hemispheres a sensitivity analysis.
#
# **Caveats that matter here.** The matrix has one value per region and gene, so "preferential expression" is a
# per-gene contrast of the MTG against the other regions, not a donor-level differential-expression test (the
# donor-level route is the optional `ahba_dk_abagen` dataset, online only). *IL6 itself is not in the matrix* (abagen's
# intensity filter removed it for low signal); its receptor subunits IL6R and IL6ST are, and are mapped below.
# The selection rule is not given in the abstract: it is a parameter, and the table below shows how many genes each
# defensible rule selects. Notebooks 05 and 06 use the genes selected here.

# %% tags=["parameters"]
target: "DKRegion" = "middletemporal"  # DK region whose preferentially expressed genes are sought
hemisphere: "Choice[left, both]" = "left"  # left (primary: 6 donors) or both (sensitivity; right hemisphere has 2 donors)
reference: "Choice[cortex, brain]" = "cortex"  # compare with the other cortical regions or every other DK region
rule: "Choice[fold, z, top]" = "fold"  # fold (x_MTG / mean of the others), z ((x_MTG - mean) / sd of the others) or top (N genes)
threshold: "Positive" = 1.2  # cut-off for the rule: the fold ratio, the z, or the number of genes for "top"
n_rot: "Draws" = 1000  # spin rotations of the fsaverage5 sphere for the spatial nulls
spin_seed: "Seed" = 2022  # their seed
correlation: "Choice[pearson, spearman]" = "pearson"  # correlation across regions

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import numpy as np

from il6repro import brain, charts, methods, report
from il6repro import transcriptomics as tx
from il6repro._paths import write_result_table
from il6repro.data import resolve, tables
from il6repro.figures import save, set_style
from il6repro.genetics import pipeline

set_style()
expr = tables.load_ahba_dk()
genes_all = expr.columns.drop("label")
print(f"AHBA DK matrix: {expr.shape[0]} regions x {len(genes_all):,} genes (sha256 "
      f"{resolve('ahba_dk').sha256['gene_expression_data.csv'][:12]}...); "
      f"{report.presence(['IL6', 'IL6R', 'IL6ST'], genes_all)}")

# %% [markdown]
# ## MTG-preferential genes

# %%
pg = tx.preferential_genes(expr, target, hemisphere=hemisphere, rule=rule, threshold=threshold, reference=reference)
mtg_genes = pg.index[pg["selected"]].tolist()
print(f"rule: {rule} >= {threshold} against the other {reference} regions ({hemisphere} hemisphere): "
      f"{len(mtg_genes)} genes; the 15 most preferential by {'fold' if rule == 'fold' else 'z'}:")
report.table(tx.top_preferential(pg, rule), "04-preferential", precision=3)

# %% [markdown]
# How the count depends on the rule (each cell a defensible choice; this run's is marked `*`). The downstream
# tests in notebooks 05-06 are sensitive to this choice; the what-if sweep varies it.

# %%
report.table(tx.rule_grid(expr, target, default=(reference, hemisphere, rule, threshold)), "04-rule-grid")

# %%
write_result_table(pg[pg["selected"]].assign(rule=rule, threshold=threshold, reference=reference,
                                             hemisphere=hemisphere, target=target), tx.MTG_GENES_TABLE)
print(f"{len(mtg_genes)} genes kept for notebooks 05 and 06")

# %% [markdown]
# ## Expression maps on fsaverage5
#
# IL6R and IL6ST (IL-6 receptor and signal transducer) and the MTG-gene score (mean z-scored expression of the
# selected genes per region). Both hemispheres are drawn; the right hemisphere rests on two donors.

# %%
labels, regions = tables.load_dk_surface(), tables.load_dk_regions()
ctx_both = tx.cortical(expr, "both")
maps, skipped = tx.correspondence_maps(ctx_both, mtg_genes)
for name, cmap, unit in (("IL6R", "viridis", "expression (scaled 0-1)"), ("IL6ST", "viridis", "expression (scaled 0-1)"),
                         ("MTG-gene score", "RdBu_r", "mean z of the MTG genes")):
    # the diverging score's white at 0 (above / below the cortical mean), not at the middle of its range
    lim = float(np.nanmax(np.abs(maps[name]))) if cmap == "RdBu_r" else None
    fig = brain.plot_surface(brain.region_map(maps[name], labels, regions), kind="stat", hemis=("left", "right"),
                             cmap=cmap, title=f"AHBA: {name}", colorbar_label=unit,
                             vmin=-lim if lim else None, vmax=lim)
    save(fig, f"04_map_{name.replace(' ', '_').replace('-', '_').lower()}",
         caption=f"AHBA {name} on the DK parcellation (fsaverage5); right hemisphere: 2 donors.")

# %% [markdown]
# ## Spatial correspondence with the IL-6 MR z-map, tested against spin nulls
#
# The IL-6 -> cortical-thickness z-map (one z per DK region) comes from notebook 02's results when present, else is
# computed the same way from the default twin. **On the twin this map is synthetic** (one planted region,
# superior frontal; the rest noise), so its correspondences test the machinery, not the biology; on a real extract
# they are the real analysis. ENIGMA case-control thickness maps (schizophrenia, autism, epilepsy) are carried by no
# package registry (the data mirror or their pinned URL): where neither is reachable they are skipped with a note.
#
# Each correspondence is a correlation across the cortical regions both maps cover (the 66 UK Biobank thickness
# IDPs for the z-map, the 68 Desikan-Killiany cortical regions for two AHBA maps); the spin null rotates a map on the
# fsaverage5 sphere `n_rot` times (mirror-image rotation on the right), re-averages each region, and recomputes the
# correlation. The naive parametric P ignores spatial autocorrelation and is shown for contrast: where the two
# disagree, the spin P is the one to believe.

# %%
zmap, source = pipeline.il6_thickness_zmap()
print(f"IL-6 → CT z-map: {len(zmap)} regions ({source})")
if skipped:
    print(f"ENIGMA maps skipped (dataset enigma_toolbox not available: no mirror holds it and its pinned URL was "
          f"not reachable): {', '.join(skipped)}; set IL6REPRO_DATA_MIRRORS to a copy of the mirror to include them")
spins = brain.spin_indices(n_rot, spin_seed)
corr = brain.spin_test(zmap, maps, n_rot=n_rot, seed=spin_seed, method=correlation, labels=labels, regions=regions,
                       spins=spins)
report.table(corr, "04-spin-twin", p=["p_parametric", "p_spin"])

# %% [markdown]
# The same spin machinery on real maps only: IL6R against the other real maps (the MTG-gene score, IL6ST and the
# ENIGMA maps; no twin involved).

# %%
corr_real = brain.spin_test(maps["IL6R"], maps.drop(columns=["IL6R"]), n_rot=n_rot, seed=spin_seed,
                            method=correlation, labels=labels, regions=regions, spins=spins)
report.table(corr_real, "04-spin-real", p=["p_parametric", "p_spin"])

# %%
null = brain.spin_null_correlations(zmap, maps["MTG-gene score"], spins, method=correlation, labels=labels,
                                    regions=regions)
save(charts.null_histogram(null, corr.loc["MTG-gene score", "r"], null_label=f"{len(null)} spins",
                           xlabel="r (IL-6 z-map vs MTG-gene score)",
                           observed_label=f"observed r = {corr.loc['MTG-gene score', 'r']:.2f}"),
     "04_spin_null", caption="Spin null of the correlation between the IL-6 CT z-map and the MTG-gene score.",
     upstream_twin=True)  # the z-map is notebook 02's: a twin's unless 02 ran on real data

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer
# resolved); the book collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.ahba_mtg(target=target, hemisphere=hemisphere, reference=reference, rule=rule,
                               threshold=threshold, n_genes=len(mtg_genes), n_rot=n_rot, spin_seed=spin_seed,
                               correlation=correlation), title="AHBA region-preferential genes and spatial nulls")
