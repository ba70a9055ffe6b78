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
n_perm_coexpression: "Draws" = 1000  # random gene sets matched on mean expression
n_perm_ppi: "Draws" = 1000  # degree-preserving rewired networks
seed: "Seed" = 2022  # seed of both nulls and of the Louvain modules
coexp_min_r: "Probability" = 0.8  # correlation threshold of a co-expression edge
coexp_hemisphere: "Choice[left, both]" = "left"  # regions used for co-expression: left (6 donors) or both
string_min_score: "StringScore" = 0.9  # STRING combined-score threshold; the carried file holds only edges of 0.9 and above
max_linkers: "IntRange[0, 3]" = 1  # intermediate proteins allowed between IL6 and an MTG gene in the module

# %%
from il6repro.params import check_parameters

check_parameters(globals())

# %%
import networkx as nx
import pandas as pd

from il6repro import charts, methods, report
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
claims = [tx.record_coexpression(tight, rule=rule, n_perm=n_perm_coexpression, hemisphere=coexp_hemisphere)]
report.table(tx.tightness_summary(tight, n_perm_coexpression).to_frame(), "05-tightness", precision=4)

# %%
save(charts.null_histogram(tight.null, tight.observed, null_label="expression-matched random sets",
                           observed_label=f"MTG genes ({tight.observed:.2f})",
                           xlabel="mean pairwise correlation across regions"),
     "05_coexpression_null", caption="Mean co-expression of the MTG genes against matched random gene sets.")

# %%
G, nodes = tx.coexpression_network(ctx, genes, min_r=coexp_min_r, seed=seed)
print(f"co-expression network: {G.number_of_nodes()} genes, {G.number_of_edges():,} edges (r >= {coexp_min_r}), "
      f"{nodes['module'].nunique()} modules (the five largest: "
      f"{', '.join(f'{k:,}' for k in nodes['module'].value_counts().head(5))} genes)")
report.table(nodes.head(15).reset_index(), "05-hubs", index=False, formats={"strength": "{:,.1f}"})

# %%
save(charts.coexpression_matrix(ctx, nodes, min_r=coexp_min_r), "05_coexpression_network",
     caption="Co-expression of the MTG genes across left cortical regions (AHBA), ordered by Louvain module of the "
             f"r >= {coexp_min_r} network; the top hubs are listed.")

# %% [markdown]
# ## Protein-protein interactions with IL6

# %%
links = tables.load_string_links(min_score=string_min_score)
string_version = "STRING human links as bundled in mossn==0.1.6 (release not stated by the package)"
ppi = tx.ppi_enrichment(genes, links, add=("IL6",), n_perm=n_perm_ppi, seed=seed, string_version=string_version,
                        min_score=string_min_score)
claims.append(tx.record_ppi(ppi, n_genes=len(genes), n_perm=n_perm_ppi, min_score=string_min_score))
report.table(tx.ppi_summary(ppi, string_version=string_version, min_score=string_min_score,
                            sha256=resolve("string_links").sha256["string_links.csv"]).to_frame(), "05-ppi")

# %%
save(charts.null_histogram(ppi.null_edges, ppi.observed_edges, integer=True, null_label="degree-preserving rewirings",
                           observed_label=f"observed ({ppi.observed_edges})", expected=ppi.expected_edges_config,
                           expected_label=f"STRING expected ({ppi.expected_edges_config:.1f})",
                           xlabel="edges among MTG genes + IL6"),
     "05_ppi_null", caption="STRING edges among the MTG genes + IL6 against degree-preserving rewiring.")

# %% [markdown]
# ## Published beside reproduced
#
# The paper reports a "tightly interconnected" co-expression network and a "significantly connected" PPI module with
# IL-6 without P values in its abstract; the ledger reads both as P < 0.05.

# %%
report.claims_table(claims, uuid="05-claims")

# %%
report.conclusion("the MTG genes form a tightly co-expressed network and a significantly connected PPI module "
                  "with IL-6", tight.p < 0.05 and ppi.p_degree_preserving < 0.05,
                  f"co-expression P {report.fmt_p(tight.p)}, PPI P {report.fmt_p(ppi.p_degree_preserving)} "
                  f"(degree-preserving null), {report.fmt_p(ppi.p_config_poisson)} (STRING model)", "real_data",
                  caution=f"Co-expression: {'; '.join(tx.coexpression_cautions(tight, n_perm_coexpression))}.")

# %% [markdown]
# ## The IL6 module

# %%
module, paths = tx.ppi_module(genes, links, "IL6", max_linkers=max_linkers)
roles = pd.Series(nx.get_node_attributes(module, "role"))
print(f"IL6 module: {int((roles == 'set').sum())} MTG genes reached within {max_linkers + 1} steps, "
      f"{int((roles == 'linker').sum())} linker proteins; IL6 direct neighbours among the MTG genes: "
      f"{', '.join(sorted(paths[paths == 1].index)) or 'none'}")
report.table(tx.module_summary(module, paths, max_linkers).rename_axis("path to IL6").reset_index(), "05-module",
             index=False)

# %%
save(charts.ppi_module(module, roles, seed=seed), "05_il6_module",
     caption=f"MTG genes connected to IL6 in STRING (score >= {string_min_score}), directly or via "
             f"at most {report.counted(max_linkers, 'linker protein')}.")

# %% [markdown]
# ## Methods (written from this run)
#
# The paragraph below is generated from the parameters and counts of this very run (and the datasets the data layer
# resolved); the book collects every notebook's paragraph on its methods page.

# %%
methods.write(methods.coexpression_ppi(n_genes=tight.n_genes, n_regions=tight.n_regions,
                                       n_perm_coexpression=n_perm_coexpression, n_perm_ppi=n_perm_ppi, seed=seed,
                                       coexp_min_r=coexp_min_r, string_min_score=string_min_score,
                                       n_in_string=len(set(ppi.genes_in_network) - {"IL6"}), max_linkers=max_linkers,
                                       string_version=string_version), title="Co-expression and protein interactions")
