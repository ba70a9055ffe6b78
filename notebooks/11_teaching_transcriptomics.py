# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [raw]
# # ASSIGNMENT CONFIG
# name: 11_teaching_transcriptomics
# init_cell: true
# check_all_cell: false
# export_cell: false
# run_tests: false
# solutions_pdf: false
# tests:
#   ok_format: false

# %% [markdown]
# # 11 · Course unit (b): brain maps, spatial nulls and gene-set enrichment
#
# Study W's second half asked which genes are preferentially expressed in the middle temporal gyrus (MTG), the
# region with its strongest IL-6 association, using the Allen Human Brain Atlas (AHBA), and related their
# expression to other brain maps and to gene sets. Every map here is real: AHBA expression averaged over six donors
# in the 68 cortical regions of the Desikan-Killiany atlas and, where this machine holds them, the ENIGMA
# case-control maps of cortical thickness in schizophrenia, autism and epilepsy.
#
# You will learn why a correlation between two brain maps cannot be tested as if the 68 regions were independent
# (and what a spin test does instead), how an over-representation P value is computed and what its background is,
# and how much an enrichment result can depend on the rule that picked the genes.
#
# **How to work.** Run the cells in order. Each exercise gives a task, the expected output and a cell to complete:
# replace every `...`, then run `grader.check("q1")` (and so on) below it; it runs the exercise's public checks and
# says what is wrong, if anything. Your grade also includes further checks. Discussion questions are answered in the
# markdown cell under them and graded by hand.

# %% tags=["parameters"]
n_rot: "Count" = 500  # spin rotations of the sphere for the spatial nulls
spin_seed: "Seed" = 2022  # their seed
n_maps: "Count" = 200  # random smooth maps per smoothness level (Exercise 2)
map_seed: "Seed" = 1  # seed of the random maps
fdr_level: "Probability" = 0.05  # FDR level for "enriched" (Exercises 3-4)

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from il6repro import brain, report, teaching
from il6repro import transcriptomics as tx
from il6repro.data import DataUnavailableError, tables
from il6repro.figures import save, set_style

set_style()
expr = tables.load_ahba_dk()
background = expr.columns.drop("label").tolist()
labels, regions = tables.load_dk_surface(), tables.load_dk_regions()
ctx = tx.cortical(expr, "both")  # 68 cortical regions x 15,633 genes
pg = tx.preferential_genes(expr)  # the paper notebooks' default rule: fold >= 1.2 against the other cortical regions
mtg_genes = pg.index[pg["selected"]].tolist()
score = tx.gene_score(ctx, mtg_genes)  # the MTG-gene score: one value per region
# receptors of the paper's five exposures (IL-6, IL-1, IL-2, BDNF) and, where available, the ENIGMA maps
maps = ctx[["IL6R", "IL6ST", "IL1RAP", "IL2RB", "BDNF", "NTRK2"]].copy()
for disorder in tables.ENIGMA_CT:
    try:
        maps[f"ENIGMA {disorder}"] = tables.load_enigma_ct(disorder).reindex(maps.index)
    except DataUnavailableError:
        pass
if not any(c.startswith("ENIGMA") for c in maps):
    print("The ENIGMA maps are not on this machine (they come from a data mirror or a pinned URL, neither reachable here); Exercise 1 uses the AHBA maps.")
spins = brain.spin_indices(n_rot, spin_seed)
print(f"{len(mtg_genes)} MTG-preferential genes; {maps.shape[1]} maps; {n_rot} spins")

# %% [raw]
# # BEGIN QUESTION
# name: q1

# %% [markdown]
# ## Exercise 1 · Naive P against spin P on real maps
#
# Neighbouring brain regions have similar values, in gene expression as in cortical thickness, so two smooth maps
# can correlate strongly by chance: 68 regions carry far fewer than 68 independent pieces of information. A spin
# test keeps each map's smoothness: it rotates the sphere on which the cortex is drawn, re-reads each region's value
# from the rotated map, and asks how often a rotated map correlates with the other map as strongly as the real one.
#
# **Task.** (a) For each column of `maps`, the Pearson correlation `r` of the MTG-gene `score` with that map across
# the 68 regions and its naive P value (`scipy.stats.pearsonr`). (b) `null = brain.spin_parcels(score, labels,
# regions, spins)` holds `n_rot` spun versions of the score (one per row; NaN where a region was spun onto the
# medial wall); `teaching.spin_null_correlations(null, maps)` gives their correlations with every map. The spin P is
# `(1 + number of |r_null| >= |r|) / (1 + number of finite r_null)`. Store a DataFrame `corr` indexed by map name
# with columns `r`, `p_naive`, `p_spin`.
#
# **Expected output.** The spin P is larger than the naive P for every map, often by orders of magnitude. The
# receptor maps of IL-6 (IL6R, IL6ST), IL-1 and BDNF remain significant against the spins (P at its floor of
# 1/(`n_rot` + 1)); IL2RB and NTRK2 (and, with the ENIGMA maps, schizophrenia and epilepsy) have naive P below 0.05
# but spin P above it.
#
# (Notebook 04 tests IL6R against the MTG-gene score the other way round: it spins the IL6R map, with 1,000
# rotations. Same r, another null, so its spin P is not this one's; either map may be spun, and a spin P is itself an
# estimate from a finite number of rotations.)
#
# <!-- expected-figure: 11_spin_nulls -->

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
null = brain.spin_parcels(score, labels, regions, spins)
r_null = teaching.spin_null_correlations(null, maps)  # (n_rot, number of maps)
rows = {}
for j, name in enumerate(maps.columns):
    r = ...  # Pearson r of score (in the order of maps.index) with maps[name]
    p_naive = ...
    p_spin = ...  # from the finite values of r_null[:, j]
    rows[name] = {"r": r, "p_naive": p_naive, "p_spin": p_spin}
corr = pd.DataFrame(rows).T
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
null = brain.spin_parcels(score, labels, regions, spins)
r_null = teaching.spin_null_correlations(null, maps)
rows = {}
for j, name in enumerate(maps.columns):
    r, p = stats.pearsonr(score.loc[maps.index], maps[name])
    rn = r_null[:, j][np.isfinite(r_null[:, j])]
    rows[name] = {"r": r, "p_naive": p, "p_spin": (1 + np.sum(np.abs(rn) >= abs(r))) / (1 + len(rn))}
corr = pd.DataFrame(rows).T.astype(float)
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_table(corr, maps, n_rot):
    from il6repro.teaching import checks
    checks.frame(corr, "corr", columns=["r", "p_naive", "p_spin"], index=list(maps.columns))
    assert corr["r"].between(-1, 1).all(), "correlations lie between -1 and 1"
    assert (corr["p_naive"].between(0, 1) & corr["p_spin"].between(0, 1)).all(), "P values lie between 0 and 1"
    assert (corr["p_spin"] >= 1 / (n_rot + 1) - 1e-12).all(), (
        "a spin P cannot be below 1 / (number of spins + 1): count the observed map as one of the draws")

test_q1_table(corr, maps, n_rot)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q1_naive(corr):
    import numpy as np
    from scipy import stats

    from il6repro.teaching import checks
    checks.frame(corr, "corr", columns=["r", "p_naive"])
    t = corr["r"].astype(float) * np.sqrt(66 / (1 - corr["r"].astype(float) ** 2))
    checks.close(corr["p_naive"], 2 * stats.t.sf(np.abs(t), 66), "corr['p_naive']", rtol=1e-4, atol=1e-12,
                 why="the two-sided P of a Pearson correlation over 68 regions")

test_q1_naive(corr)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q1_spin(corr, maps, spins, n_rot):
    import numpy as np

    from il6repro import brain
    from il6repro import transcriptomics as tx
    from il6repro.data import tables
    from il6repro.teaching import checks
    expr = tables.load_ahba_dk()
    c = tx.cortical(expr, "both")
    pg = tx.preferential_genes(expr)
    s = tx.gene_score(c, pg.index[pg["selected"]])
    ref = brain.spin_test(s, maps, spins=spins, labels=tables.load_dk_surface(), regions=tables.load_dk_regions())
    checks.close(corr.loc[ref.index, "r"], ref["r"], "corr['r']", atol=1e-6, why="Pearson r of the score with each map")
    p = ref["p_spin"].to_numpy()
    checks.close(corr.loc[ref.index, "p_spin"], p, "corr['p_spin']", atol=4 * np.sqrt(p * (1 - p) / n_rot) + 0.01,
                 why="two-sided spin P")

test_q1_spin(corr, maps, spins, n_rot)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q1", corr=corr)
display(report.table(corr, "corr", p=("p_naive", "p_spin"), formats={"r": "{:.3f}"}))
rn_all = teaching.spin_null_correlations(null, maps)
r_crit = 1 / np.sqrt(1 + 66 / stats.t.isf(0.025, 66) ** 2)  # |r| with naive P = 0.05 over 68 regions
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.violinplot([c[np.isfinite(c)] for c in rn_all.T], showextrema=False)
ax.scatter(np.arange(1, maps.shape[1] + 1), corr["r"], color="C3", zorder=3, label="observed r")
ax.axhspan(-r_crit, r_crit, color="0.85", zorder=0, label="naive P > 0.05")
ax.set_xticks(np.arange(1, maps.shape[1] + 1), maps.columns, rotation=30, ha="right", fontsize=8)
ax.set_ylabel("r with the MTG-gene score")
ax.set_title("observed r against the spin null (violins)")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # beside the violins
save(fig, "11_spin_nulls", caption="Correlation of the MTG-gene score with receptor and disorder maps (red) against its spin null (violins); grey band: the range a naive test calls non-significant.")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d1
# manual: true
# points: 1

# %% [markdown]
# **Discussion 1.** Why is the naive P value too small for a correlation between brain maps? What does the spin
# test keep fixed, and what can it get wrong?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** The naive test treats the 68 regions as independent observations, but both maps vary smoothly across
# the cortex (neighbouring regions share values, and large gradients run front to back), so the effective number of
# independent observations is much smaller and chance correlations are much larger than the t distribution with 66
# degrees of freedom allows: the null correlations of the spins spread up to about three times wider. The spin
# test keeps each map's values and spatial autocorrelation and only moves the map around the sphere (the same
# rotation, mirrored, for both hemispheres), so its null has the right smoothness. What it can get wrong: regions
# rotated onto the medial wall have no value (dropped here), the parcels differ in size so a rotated parcellation is
# not an exact permutation, and it assumes the map's statistics are the same everywhere on the sphere. With only
# `n_rot` rotations the smallest attainable P is 1/(`n_rot` + 1). Alternatives that match the variogram (BrainSMASH)
# or use Moran spectral randomisation address some of these.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q2

# %% [markdown]
# ## Exercise 2 · How often does a naive test find a correlation that is not there?
#
# `teaching.smooth_random_maps(n_maps, fwhm_deg, seed=map_seed)` draws random cortical maps of a chosen smoothness
# (a full width at half maximum of `fwhm_deg` degrees of arc on the sphere), parcellated to the same 68 regions.
# They are independent of the MTG-gene score by construction, so every significant correlation with the score is a
# false positive.
#
# **Task.** For smoothness 20, 45 and 90 degrees (`fwhms`), draw `n_maps` maps each (seed `map_seed`) and compute
# for every map the naive P and the spin P of its correlation with the score (the same `null` as in Exercise 1:
# spinning the score). Store a DataFrame `fpr` indexed by the smoothness with columns `naive` and `spin`: the share of
# maps with P < 0.05.
#
# **Expected output.** The naive false-positive rate rises well above 5% as the maps get smoother (about one in
# three at 90 degrees), while the spin test stays at or below about 5%.
#
# <!-- expected-figure: 11_false_positives -->

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
fwhms = (20, 45, 90)

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
rows = {}
for fwhm in fwhms:
    rand = teaching.smooth_random_maps(n_maps, fwhm, seed=map_seed, labels=labels, regions=regions)
    p_naive = ...  # naive P of the correlation of each random map (column of rand) with score.loc[rand.index]
    p_spin = ...  # spin P of each: teaching.spin_null_correlations(null.loc[:, rand.index], rand)
    rows[fwhm] = {"naive": ..., "spin": ...}  # shares with P < 0.05
fpr = pd.DataFrame(rows).T
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
rows = {}
for fwhm in fwhms:
    rand = teaching.smooth_random_maps(n_maps, fwhm, seed=map_seed, labels=labels, regions=regions)
    x = score.loc[rand.index]
    r, p_naive = np.array([stats.pearsonr(x, rand[c]) for c in rand]).T  # r and naive P of each map
    rn = teaching.spin_null_correlations(null.loc[:, rand.index], rand)
    p_spin = (1 + (np.abs(rn) >= np.abs(r)).sum(0)) / (1 + np.isfinite(rn).sum(0))
    rows[fwhm] = {"naive": np.mean(p_naive < 0.05), "spin": np.mean(p_spin < 0.05)}
fpr = pd.DataFrame(rows).T
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q2_table(fpr):
    from il6repro.teaching import checks
    checks.frame(fpr, "fpr", columns=["naive", "spin"], index=[20, 45, 90])
    assert ((fpr >= 0) & (fpr <= 1)).all().all(), "false-positive rates are shares (0 to 1)"

test_q2_table(fpr)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q2_rates(fpr, null, n_maps, map_seed, n_rot):
    import numpy as np
    from scipy import stats

    from il6repro import teaching
    from il6repro import transcriptomics as tx
    from il6repro.data import tables
    from il6repro.teaching import checks
    expr = tables.load_ahba_dk()
    pg = tx.preferential_genes(expr)
    s = tx.gene_score(tx.cortical(expr, "both"), pg.index[pg["selected"]])
    for fwhm in (20, 45, 90):
        rand = teaching.smooth_random_maps(n_maps, fwhm, seed=map_seed)
        x = s.loc[rand.index]
        rp = np.array([stats.pearsonr(x, rand[c]) for c in rand])
        rn = teaching.spin_null_correlations(null.loc[:, rand.index], rand)
        ps = (1 + (np.abs(rn) >= np.abs(rp[:, 0])).sum(0)) / (1 + np.isfinite(rn).sum(0))
        checks.close(fpr.loc[fwhm, "naive"], np.mean(rp[:, 1] < 0.05), f"fpr.loc[{fwhm}, 'naive']", atol=0.011,
                     why="share of the random maps with naive P < 0.05")
        checks.close(fpr.loc[fwhm, "spin"], np.mean(ps < 0.05), f"fpr.loc[{fwhm}, 'spin']", atol=0.04,
                     why="share of the random maps with spin P < 0.05")

test_q2_rates(fpr, null, n_maps, map_seed, n_rot)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q2", fpr=fpr)
display(report.table(fpr.rename_axis("smoothness (FWHM, degrees)").reset_index(), "11-fpr", precision=3,
                     index=False))
fig, ax = plt.subplots(figsize=(5.5, 3.3))
ax.plot(fpr.index, fpr["naive"], "o-", color="C3", label="naive P < 0.05")
ax.plot(fpr.index, fpr["spin"], "s-", color="C0", label="spin P < 0.05")
ax.axhline(0.05, color="0.3", ls="--", lw=0.8, label="nominal 5%")
ax.set_xlabel("smoothness of the random maps (FWHM, degrees)")
ax.set_ylabel("false-positive rate")
ax.set_ylim(0, max(0.5, float(fpr.max().max()) + 0.05))
ax.legend(fontsize=8)
save(fig, "11_false_positives", caption="Share of random smooth maps, independent of the MTG-gene score, that a naive test and a spin test call correlated with it (P < 0.05).")  # IGNORE
plt.show()

# %% [raw]
# # BEGIN QUESTION
# name: d2
# manual: true
# points: 1

# %% [markdown]
# **Discussion 2.** What do the false-positive rates say about published correlations between brain maps tested
# with naive P values? Why is the spin test *below* 5% for the smoothest maps?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** For maps as smooth as real expression and thickness maps, a naive test calls about a third of
# unrelated maps "significantly" correlated with the MTG-gene score at P < 0.05, so a naive P value for a map
# correlation is close to meaningless; only a null that preserves spatial autocorrelation (spins, variogram-matched
# surrogates) gives a false-positive rate near the nominal level. The spin test falls below 5% (conservative) for
# very smooth maps because rotating a parcellated map drops the regions spun onto the medial wall and mixes parcels of
# different sizes, which widens the null distribution somewhat; the test stays valid (it does not over-reject), but
# loses some power.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q3

# %% [markdown]
# ## Exercise 3 · An over-representation P value by hand, and its background
#
# Over-representation asks whether a gene set contains more of the selected genes than chance would give: with `N`
# genes that *could* have been selected (the background), `K` of them in the set and `n` selected, the number of
# selected genes in the set is hypergeometric, and P = Pr(overlap >= `k`).
#
# **Task.** For the two terms in `terms` (GO "Chemical Synaptic Transmission" and KEGG "Neuroactive ligand-receptor
# interaction"; their genes are in `libraries`), compute with `scipy.stats.hypergeom` the P value with the AHBA
# background (`N` = all genes in the AHBA matrix, `background`; `K` = the set's genes among them; `n` = the MTG genes;
# `k` = MTG genes in the set), `p_ahba`, and with the common mistake of a genome background (`N` = 20,000 genes and
# `K` = all the set's genes, measured or not), `p_genome`. Store them in a DataFrame `ora` indexed by term with
# columns `k`, `K`, `n`, `N`, `p_ahba`, `p_genome`. Then compare with gseapy's P value in the project's enrichment
# table `enriched` (computed for you in the cell above) and store it as column `p_gseapy`.
#
# **Expected output.** `p_ahba` equals gseapy's P value (about 3e-7 and 4e-6); the genome background makes the first
# P smaller (about 1e-7) and the second larger (about 4e-5): the wrong background can move a P value either way.

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
libraries = {"GO_BP_2023": tables.load_gmt("go_bp_2023"), "KEGG_2021": tables.load_gmt("kegg_2021_human")}
enriched = tx.enrich(mtg_genes, libraries, background)
terms = {"Chemical Synaptic Transmission (GO:0007268)": "GO_BP_2023",
         "Neuroactive ligand-receptor interaction": "KEGG_2021"}

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
bg = set(background)
rows = {}
for term, lib in terms.items():
    members = set(libraries[lib][term])
    k, K, n, N = ..., ..., ..., ...
    rows[term] = {"k": k, "K": K, "n": n, "N": N, "p_ahba": ..., "p_genome": ...,
                  "p_gseapy": ...}  # gseapy's: enriched.loc[enriched["Term"] == term, "P-value"]
ora = pd.DataFrame(rows).T
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
bg = set(background)
rows = {}
for term, lib in terms.items():
    members = set(libraries[lib][term])
    k, K, n, N = len(members & set(mtg_genes)), len(members & bg), len(mtg_genes), len(bg)
    rows[term] = {"k": k, "K": K, "n": n, "N": N, "p_ahba": stats.hypergeom.sf(k - 1, N, K, n),
                  "p_genome": stats.hypergeom.sf(k - 1, 20_000, len(members), n),
                  "p_gseapy": float(enriched.loc[enriched["Term"] == term, "P-value"].iloc[0])}
ora = pd.DataFrame(rows).T
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q3_table(ora, terms):
    from il6repro.teaching import checks
    checks.frame(ora, "ora", columns=["k", "K", "n", "N", "p_ahba", "p_genome", "p_gseapy"], index=list(terms))
    assert (ora["k"] <= ora["K"]).all() and (ora["K"] <= ora["N"]).all() and (ora["k"] <= ora["n"]).all(), (
        "need k <= K <= N and k <= n")

test_q3_table(ora, terms)  # IGNORE

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q3_agrees_with_gseapy(ora):
    from il6repro.teaching import checks
    checks.frame(ora, "ora", columns=["p_ahba", "p_gseapy"])
    checks.close(ora["p_ahba"].astype(float), ora["p_gseapy"].astype(float), "ora['p_ahba']", rtol=1e-6,
                 why="gseapy's hypergeometric P with the AHBA background")

test_q3_agrees_with_gseapy(ora)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q3_values(ora, terms, mtg_genes, background):
    from scipy import stats

    from il6repro.data import tables
    from il6repro.teaching import checks
    libs = {"GO_BP_2023": tables.load_gmt("go_bp_2023"), "KEGG_2021": tables.load_gmt("kegg_2021_human")}
    bg = set(background)
    for term, lib in terms.items():
        m = set(libs[lib][term])
        k, K, n = len(m & set(mtg_genes)), len(m & bg), len(mtg_genes)
        checks.close(ora.loc[term, ["k", "K", "n", "N"]].to_numpy(float), [k, K, n, len(bg)], f"k, K, n, N of {term}")
        checks.close(ora.loc[term, "p_ahba"], stats.hypergeom.sf(k - 1, len(bg), K, n), f"p_ahba of {term}", rtol=1e-6)
        checks.close(ora.loc[term, "p_genome"], stats.hypergeom.sf(k - 1, 20_000, len(m), n), f"p_genome of {term}",
                     rtol=1e-6, why="N = 20,000 and K = the set's full size")

test_q3_values(ora, terms, mtg_genes, background)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q3", ora=ora)
display(report.table(ora, "ora", p=("p_ahba", "p_genome", "p_gseapy")))

# %% [raw]
# # BEGIN QUESTION
# name: d3
# manual: true
# points: 1

# %% [markdown]
# **Discussion 3.** Which background is right for these MTG genes, and why does the genome background make one P
# value smaller and the other larger?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** The background must be the genes that could have been selected: here the 15,633 genes measured in the
# AHBA matrix (after abagen's filtering), because the MTG genes were chosen among them. A genome background adds
# genes that could never be selected. Whether that inflates or deflates a P value depends on the set: synaptic
# transmission genes are mostly expressed and measured in brain, so the set keeps most of its genes while the
# background grows, and the overlap looks more surprising (smaller P); many neuroactive ligand-receptor genes are
# not measured in the AHBA matrix, so counting them inflates the set's size and the expected overlap (larger P). The
# wrong background is not conservative or liberal, just wrong, and online tools that default to the whole genome
# make this mistake silently.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION

# %% [raw]
# # BEGIN QUESTION
# name: q4

# %% [markdown]
# ## Exercise 4 · How much hangs on the rule that picks the genes?
#
# The paper does not say how "preferentially expressed in the MTG" was decided. `tx.preferential_genes(expr,
# rule=..., threshold=...)` implements three kinds of rule: a fold change of the MTG over the mean of the other
# cortical regions (`"fold"`), a z-score against them (`"z"`) or the N genes of largest z (`"top"`); column
# `selected` marks the chosen genes. The notebooks' default is fold >= 1.2.
#
# **Task.** For each rule in `rules`, select the genes and run the enrichment (`tx.enrich(genes, libraries,
# background)`; its column `fdr` is the Benjamini-Hochberg q within each library). Store a DataFrame `sens` indexed
# by the rule's label with columns `genes` (how many), `jaccard` (overlap with the default list: size of the
# intersection over size of the union), `enriched` (terms at FDR < `fdr_level`) and `q_synaptic` (the q of
# "Chemical Synaptic Transmission (GO:0007268)"; NaN if not tested). Then `robust`: True if that term is enriched
# (q < `fdr_level`) under every rule, else False.
#
# **Expected output.** The rules select from a few dozen to about 1,900 genes that overlap the default list only in
# part; the default finds 16 enriched terms, led by synaptic and cAMP signalling, while most other rules find few
# or none, and synaptic transmission is enriched under the default rule only: not robust.

# %%
# given: what the exercise below starts from (a locked cell in the hand-out)
rules = {"fold >= 1.2 (default)": ("fold", 1.2), "fold >= 1.1": ("fold", 1.1), "fold >= 1.3": ("fold", 1.3),
         "z >= 1.0": ("z", 1.0), "z >= 1.5": ("z", 1.5), "top 200": ("top", 200)}
synaptic = "Chemical Synaptic Transmission (GO:0007268)"

# %% [raw]
# # BEGIN SOLUTION

# %% tags=["solution"]
""" # BEGIN PROMPT
default = set(mtg_genes)
rows = {}
for label, (rule, thr) in rules.items():
    genes = ...  # the genes this rule selects
    res = ...  # their enrichment: tx.enrich(genes, libraries, background)
    rows[label] = {"genes": ..., "jaccard": ..., "enriched": ..., "q_synaptic": ...}
sens = pd.DataFrame(rows).T
robust = ...
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
default = set(mtg_genes)
rows = {}
for label, (rule, thr) in rules.items():
    p = tx.preferential_genes(expr, rule=rule, threshold=thr)
    genes = p.index[p["selected"]].tolist()
    res = tx.enrich(genes, libraries, background)
    hit = res.loc[res["Term"] == synaptic, "fdr"]
    rows[label] = {"genes": len(genes), "jaccard": len(default & set(genes)) / len(default | set(genes)),
                   "enriched": int((res["fdr"] < fdr_level).sum()), "q_synaptic": hit.min() if len(hit) else np.nan}
sens = pd.DataFrame(rows).T
robust = bool((sens["q_synaptic"] < fdr_level).all())
# END SOLUTION

# %% [raw]
# # END SOLUTION

# %% [raw]
# # BEGIN TESTS

# %% tags=["check"]
""" # BEGIN TEST CONFIG
points: 1
""" # END TEST CONFIG
def test_q4_table(sens, rules, robust):
    from il6repro.teaching import checks
    checks.frame(sens, "sens", columns=["genes", "jaccard", "enriched", "q_synaptic"], index=list(rules))
    checks.close(sens.loc["fold >= 1.2 (default)", "jaccard"], 1.0, "the default rule's jaccard", atol=1e-9)
    assert sens["jaccard"].between(0, 1).all(), "a Jaccard index lies between 0 and 1"
    checks.flag(robust, "robust")

test_q4_table(sens, rules, robust)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 2
hidden: true
""" # END TEST CONFIG
def test_q4_counts(sens, rules, expr, mtg_genes):
    from il6repro import transcriptomics as tx
    from il6repro.teaching import checks
    default = set(mtg_genes)
    for label, (rule, thr) in rules.items():
        p = tx.preferential_genes(expr, rule=rule, threshold=thr)
        g = set(p.index[p["selected"]])
        checks.close(sens.loc[label, "genes"], len(g), f"sens.loc['{label}', 'genes']", atol=0.5)
        checks.close(sens.loc[label, "jaccard"], len(default & g) / len(default | g), f"sens.loc['{label}', 'jaccard']",
                     atol=1e-6, why="|intersection| / |union| with the default list")

test_q4_counts(sens, rules, expr, mtg_genes)  # IGNORE

# %% tags=["check", "hidden"]
""" # BEGIN TEST CONFIG
points: 1
hidden: true
""" # END TEST CONFIG
def test_q4_enrichment(sens, robust, expr, background, fdr_level):
    import numpy as np

    from il6repro import transcriptomics as tx
    from il6repro.data import tables
    from il6repro.teaching import checks
    libs = {"GO_BP_2023": tables.load_gmt("go_bp_2023"), "KEGG_2021": tables.load_gmt("kegg_2021_human")}
    for label, rule, thr in (("fold >= 1.2 (default)", "fold", 1.2), ("z >= 1.5", "z", 1.5)):
        p = tx.preferential_genes(expr, rule=rule, threshold=thr)
        res = tx.enrich(p.index[p["selected"]].tolist(), libs, background)
        checks.close(sens.loc[label, "enriched"], int((res["fdr"] < fdr_level).sum()), f"sens.loc['{label}', 'enriched']",
                     atol=0.5, why=f"terms at FDR < {fdr_level}")
    q = sens["q_synaptic"].astype(float)
    assert robust == bool((q < fdr_level).all() and np.isfinite(q).all()), (
        "`robust` should say whether synaptic transmission is enriched under every rule")

test_q4_enrichment(sens, robust, expr, background, fdr_level)  # IGNORE

# %% [raw]
# # END TESTS

# %% [raw]
# # END QUESTION

# %%
teaching.need("q4", sens=sens)
display(report.table(sens, "sens", p=("q_synaptic",), formats={"genes": "{:.0f}", "jaccard": "{:.2f}",
                                                                "enriched": "{:.0f}"}))
print(f"synaptic transmission enriched under every rule: {robust}")

# %% [raw]
# # BEGIN QUESTION
# name: d4
# manual: true
# points: 1

# %% [markdown]
# **Discussion 4.** How would you report the enrichment of the MTG-preferential genes, given this table? What
# should a paper state so that a reader can judge it?

# %% [raw]
# # BEGIN SOLUTION

# %% [markdown] tags=["solution"]
# **Answer.** As fragile: the synaptic and cAMP-signalling enrichment appears under the default rule and disappears
# under neighbouring rules that select overlapping gene lists (fold 1.1 or 1.3, or z-scores), and the rules that
# find something find different things. A robust finding would survive reasonable changes of the rule. The report
# should state the selection rule and threshold exactly (ideally fixed before looking at the enrichment), the
# background, the libraries and their versions, the multiple-testing correction, and show a sensitivity analysis
# like this table; the paper gives none of the rule, which is why this project had to choose one and shows how
# much the result depends on it (notebook 06 does the same for the disease libraries). Enrichment of a list built
# from one region's expression also inherits the spatial problem of Exercise 1: genes with smooth gradients are
# co-selected, so gene-set tests that permute genes rather than maps are optimistic.

# %% [raw]
# # END SOLUTION

# %% [raw]
# # END QUESTION
