# ---
# jupyter:
#   il6repro:
#     depends:
#     - 04_ahba_mtg
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Co-expression of the MTG genes and their protein-interaction module with IL-6
#
# **Real data**: the AHBA regional matrix (left-hemisphere cortex, 34 regions, 6 donors) and the STRING human
# network at combined score >= 0.9 (carried in the `mossn==0.1.6` wheel; 97,928 edges between gene symbols). The
# genes are notebook 04's MTG-preferential set.
#
# * **Co-expression.** Is the mean pairwise correlation (across regions) among the MTG genes higher than among
#   random gene sets matched on mean expression (deciles)? Then the network itself: edges where r >= `coexp_min_r`,
#   Louvain modules (networkx, seeded) and hubs.
# * **PPI.** Do the MTG genes plus IL6 have more STRING edges among themselves than chance? Two nulls: degree-
#   preserving rewiring of the whole STRING network (double edge swaps, a Markov chain sampled every few rounds),
#   and STRING's own expected-edges model (configuration model from the node degrees, Poisson tail). Then the
#   module around IL6 (the MTG genes reachable from IL6 directly or through one linker protein) and the shortest
#   path from IL6 to every MTG gene.
#
# Caveats: IL6 is not measured in AHBA, so it enters the PPI network as a protein, not as a co-expressed gene; the
# STRING threshold here is 0.9 ("highest confidence"), not the web default of 0.4, because only that subset is
# carried offline; the version is recorded below.

# %% tags=["parameters"]
n_perm_coexpression = 1000  # random gene sets matched on mean expression
n_perm_ppi = 1000  # degree-preserving rewired networks
seed = 2022  # seed of both nulls and of the Louvain modules
coexp_min_r = 0.8  # correlation threshold of a co-expression edge
coexp_hemisphere = "left"  # regions used for co-expression: "left" (6 donors) or "both"
string_min_score = 0.9  # STRING combined-score threshold; the carried file holds only edges of 0.9 and above
max_linkers = 1  # intermediate proteins allowed between IL6 and an MTG gene in the module

# %%
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd

from il6repro import ledger, methods
from il6repro import transcriptomics as tx
from il6repro.data import resolve, tables
from il6repro.figures import save, set_style

set_style()
expr = tables.load_ahba_dk()
genes, rule, message = tx.upstream_mtg_genes(expr)
print(message)
ctx = tx.cortical(expr, coexp_hemisphere)

# %% [markdown]
# ## Co-expression tightness

# %%
tight = tx.coexpression_tightness(ctx, genes, n_perm=n_perm_coexpression, seed=seed)
ledger.record("W.ahba.mtg_coexpression.p", tight.p, kind="real_data",
              note=f"{tight.n_genes} MTG genes ({rule['rule']} >= {rule['threshold']} vs {rule['reference']}), "
                   f"mean r {tight.observed:.3f} vs {tight.null_mean:.3f} in {n_perm_coexpression} expression-matched "
                   f"random sets over {tight.n_regions} {coexp_hemisphere} cortical regions; donor-averaged AHBA; "
                   "selection rule fixed by this project (not stated in the paper): see notebook 06's sensitivity table")
pd.Series({"genes": tight.n_genes, "regions": tight.n_regions, "mean r (MTG genes)": round(tight.observed, 4),
           "mean r (matched random sets)": round(tight.null_mean, 4), "P (one-sided)": tight.p,
           "permutations": n_perm_coexpression}).to_frame("co-expression")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.hist(tight.null, bins=40, color="0.7", label="expression-matched random sets")
ax.axvline(tight.observed, color="C3", label=f"MTG genes ({tight.observed:.2f})")
ax.set_xlabel("mean pairwise correlation across regions")
ax.set_ylabel("gene sets")
ax.legend(fontsize=8)
save(fig, "05_coexpression_null", caption="Mean co-expression of the MTG genes against matched random gene sets.")
plt.show()

# %%
G, nodes = tx.coexpression_network(ctx, genes, min_r=coexp_min_r, seed=seed)
print(f"co-expression network: {G.number_of_nodes()} genes, {G.number_of_edges():,} edges (r >= {coexp_min_r}), "
      f"{nodes['module'].nunique()} modules; largest: {nodes['module'].value_counts().head(5).tolist()}")
nodes.head(15).round(3)

# %%
core = G.subgraph([n for n, d in G.degree() if d > 0]).copy()
fig, ax = plt.subplots(figsize=(7, 6))
pos = nx.spring_layout(core, seed=seed, weight="weight")
mods = nodes.loc[list(core.nodes), "module"]
nx.draw_networkx_edges(core, pos, ax=ax, alpha=0.05, width=0.5)
nx.draw_networkx_nodes(core, pos, ax=ax, node_size=12, node_color=mods.to_numpy() % 10, cmap="tab10")
hubs = nodes.head(10).index
nx.draw_networkx_labels(core, pos, labels={h: h for h in hubs if h in core}, font_size=7, ax=ax)
ax.set_title(f"MTG-gene co-expression network (r >= {coexp_min_r}); colour = Louvain module; top-10 hubs named")
ax.axis("off")
save(fig, "05_coexpression_network", caption="Co-expression network of the MTG genes (AHBA, left cortex).")
plt.show()

# %% [markdown]
# ## Protein-protein interactions with IL6

# %%
links = tables.load_string_links(min_score=string_min_score)
src = resolve("string_links")
string_version = "STRING human links as bundled in mossn==0.1.6 (release not stated by the package)"
ppi = tx.ppi_enrichment(genes, links, add=("IL6",), n_perm=n_perm_ppi, seed=seed, string_version=string_version,
                        min_score=string_min_score)
ledger.record("W.ahba.ppi_il6.p", ppi.p_degree_preserving, kind="real_data",
              note=f"{len(ppi.genes_in_network)} of {len(genes) + 1} MTG genes + IL6 in STRING (score >= "
                   f"{string_min_score}, not the web default 0.4); {ppi.observed_edges} edges vs {ppi.null_mean:.1f} in "
                   f"{n_perm_ppi} degree-preserving rewirings; STRING expected-edges model {ppi.expected_edges_config:.1f} "
                   f"(Poisson P {ppi.p_config_poisson:.2g}); selection rule fixed by this project after comparing rules "
                   "(not stated in the paper): significant for fold rules, not for z rules (notebook 06)")
pd.Series({"STRING": f"{string_version}, score >= {string_min_score}, file sha256 {src.sha256['string_links.csv'][:12]}...",
           "nodes in STRING (MTG genes + IL6)": len(ppi.genes_in_network),
           "not in STRING": len(ppi.not_in_network), "observed edges": ppi.observed_edges,
           "mean edges, degree-preserving null": round(ppi.null_mean, 2),
           "P, degree-preserving null": ppi.p_degree_preserving,
           "expected edges, STRING model": round(ppi.expected_edges_config, 2),
           "P, STRING model (Poisson)": ppi.p_config_poisson}).to_frame("PPI")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.hist(ppi.null_edges, bins=np.arange(ppi.null_edges.min(), max(ppi.null_edges.max(), ppi.observed_edges) + 2) - 0.5,
        color="0.7", label="degree-preserving rewirings")
ax.axvline(ppi.observed_edges, color="C3", label=f"observed ({ppi.observed_edges})")
ax.axvline(ppi.expected_edges_config, color="C0", ls="--", label=f"STRING expected ({ppi.expected_edges_config:.1f})")
ax.set_xlabel("edges among MTG genes + IL6")
ax.set_ylabel("networks")
ax.legend(fontsize=8)
save(fig, "05_ppi_null", caption="STRING edges among the MTG genes + IL6 against degree-preserving rewiring.")
plt.show()

# %%
module, paths = tx.ppi_module(genes, links, "IL6", max_linkers=max_linkers)
roles = pd.Series(nx.get_node_attributes(module, "role"))
print(f"IL6 module: {int((roles == 'set').sum())} MTG genes reached within {max_linkers + 1} steps, "
      f"{int((roles == 'linker').sum())} linker proteins; IL6 direct neighbours among the MTG genes: "
      f"{sorted(paths[paths == 1].index)}")
paths.value_counts(dropna=False).sort_index().rename("MTG genes by shortest-path length from IL6 (NaN: > "
                                                     f"{max_linkers + 1} steps or unreachable)").to_frame()

# %%
fig, ax = plt.subplots(figsize=(7, 6))
pos = nx.spring_layout(module, seed=seed)
colour = {"seed": "crimson", "set": "tab:blue", "linker": "0.75"}
nx.draw_networkx_edges(module, pos, ax=ax, alpha=0.3)
nx.draw_networkx_nodes(module, pos, ax=ax, node_size=[160 if roles[n] == "seed" else 40 for n in module],
                       node_color=[colour[roles[n]] for n in module])
nx.draw_networkx_labels(module, pos, labels={n: n for n in module if roles[n] != "linker"}, font_size=6, ax=ax)
ax.set_title("IL6 module in STRING (red: IL6; blue: MTG genes; grey: linker proteins)")
ax.axis("off")
save(fig, "05_il6_module", caption="MTG genes connected to IL6 in STRING (score >= 0.9), directly or via one linker.")
plt.show()

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer resolved); the site collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.coexpression_ppi(n_genes=tight.n_genes, n_regions=tight.n_regions,
                                       n_perm_coexpression=n_perm_coexpression, n_perm_ppi=n_perm_ppi, seed=seed,
                                       coexp_min_r=coexp_min_r, string_min_score=string_min_score,
                                       n_in_string=len(ppi.genes_in_network), max_linkers=max_linkers,
                                       string_version=string_version), title="Co-expression and protein interactions")
