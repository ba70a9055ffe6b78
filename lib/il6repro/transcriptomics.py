"""AHBA transcriptomics of study W: region-preferential genes, co-expression, the PPI module with IL-6, enrichment.

Input is the real AHBA matrix parcellated to Desikan-Killiany (83 regions x 15,633 genes, robust-sigmoid scaled,
averaged over the 6 donors; :func:`il6repro.data.tables.load_ahba_dk`). Right-hemisphere values rest on the two
donors with right-hemisphere samples, so the left hemisphere is the primary analysis. The matrix holds one value per
region and gene, so region preference is a per-gene contrast of the target region against the other cortical
regions (not a donor-level test; the donor-level route through abagen is documented in the data manifest).

IL6 itself is not in the matrix (abagen's intensity-based filter removed it); IL6R and IL6ST are. The PPI test adds
IL6 as a node of the STRING network, where it is present.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

RULES = ("z", "fold", "top")


class GeneListError(ValueError):
    """A gene list could not be used (names the problem, e.g. every symbol unknown)."""


def cortical(expr: pd.DataFrame, hemisphere: str = "left") -> pd.DataFrame:
    """Rows of the DK cortical regions of one or both hemispheres (``left``: 34, ``right``: 34, ``both``: 68)."""
    sub = {"left": ("L_",), "right": ("R_",), "both": ("L_", "R_")}
    if hemisphere not in sub:
        raise ValueError(f"hemisphere must be one of {sorted(sub)}, got {hemisphere!r}")
    from .data.tables import load_dk_regions

    regions = load_dk_regions()
    ctx = {f"{r.hemisphere}_{r.label}" for r in regions.itertuples() if r.structure == "cortex"}
    rows = [r for r in expr.index if r in ctx and r.startswith(sub[hemisphere])]
    if not rows:
        raise ValueError("no cortical DK regions in the expression matrix")
    return expr.loc[rows].drop(columns=["label"], errors="ignore")


def brain_regions(expr: pd.DataFrame, hemisphere: str = "left") -> pd.DataFrame:
    """Rows of all DK regions (cortical and subcortical, not the brainstem) of one or both hemispheres."""
    sub = {"left": ("L_",), "right": ("R_",), "both": ("L_", "R_")}
    if hemisphere not in sub:
        raise ValueError(f"hemisphere must be one of {sorted(sub)}, got {hemisphere!r}")
    rows = [r for r in expr.index if r.startswith(sub[hemisphere])]
    return expr.loc[rows].drop(columns=["label"], errors="ignore")


def preferential_genes(expr: pd.DataFrame, target: str = "middletemporal", *, hemisphere: str = "left",
                       rule: str = "fold", threshold: float = 1.2, reference: str = "cortex") -> pd.DataFrame:
    """Genes preferentially expressed in ``target`` against the other regions of ``hemisphere``.

    For each gene, the target's expression (the mean of its hemispheres when ``both``) is compared with the
    other regions: ``z = (x_target - mean_others) / sd_others`` and ``fold = x_target / mean_others``.
    ``reference="cortex"`` (default) compares with the other cortical regions (region preference within the
    cortex); ``"brain"`` with every other DK region of the hemisphere(s), subcortical included (closer to the
    Allen Brain Atlas "differential search" of one structure against the rest of the brain, and dominated by
    cortex-vs-subcortex differences).

    Parameters
    ----------
    rule : {"z", "fold", "top"}
        Select genes with ``z >= threshold``, ``fold >= threshold``, or the ``int(threshold)`` genes of largest z.
    threshold : float
        The cut-off for ``rule``.

    Returns
    -------
    DataFrame indexed by gene (sorted by z, descending) with target, mean_others, sd_others, z, fold, selected.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if reference not in ("cortex", "brain"):
        raise ValueError(f"reference must be 'cortex' or 'brain', got {reference!r}")
    ctx = cortical(expr, hemisphere) if reference == "cortex" else brain_regions(expr, hemisphere)
    names = [r for r in ctx.index if r.split("_", 1)[1] == target]
    if not names:
        raise KeyError(f"target region {target!r} not among the DK regions compared "
                       f"(e.g. {sorted({r.split('_', 1)[1] for r in ctx.index})[:5]})")
    x = ctx.loc[names].mean(axis=0)
    others = ctx.drop(index=names)
    mu, sd = others.mean(axis=0), others.std(axis=0, ddof=1)
    out = pd.DataFrame({"target": x, "mean_others": mu, "sd_others": sd, "z": (x - mu) / sd, "fold": x / mu})
    out = out.sort_values("z", ascending=False)
    if rule == "z":
        out["selected"] = out["z"] >= threshold
    elif rule == "fold":
        out["selected"] = out["fold"] >= threshold
    else:
        k = int(threshold)
        if k < 1:
            raise ValueError("rule 'top' needs threshold >= 1 (the number of genes)")
        out["selected"] = np.arange(len(out)) < k
    out.index.name = "gene"
    return out


def check_genes(genes, universe, what: str = "gene list") -> tuple[list[str], list[str]]:
    """Split ``genes`` into those in ``universe`` and the unknown ones; fail only if none is known."""
    genes = list(dict.fromkeys(str(g) for g in genes))
    uni = set(universe)
    known = [g for g in genes if g in uni]
    unknown = [g for g in genes if g not in uni]
    if not genes:
        raise GeneListError(f"{what}: empty")
    if not known:
        raise GeneListError(f"{what}: none of the {len(genes)} symbols is known (e.g. {unknown[:5]})")
    return known, unknown


def gene_score(expr: pd.DataFrame, genes) -> pd.Series:
    """Mean across ``genes`` of each gene's expression z-scored across regions (one value per region)."""
    known, _ = check_genes(genes, expr.columns)
    sub = expr[known]
    return ((sub - sub.mean()) / sub.std(ddof=1)).mean(axis=1).rename("score")


# ------------------------------------------------------------------------------------------ co-expression
def _zcols(X: np.ndarray) -> np.ndarray:
    X = X - X.mean(0)
    sd = X.std(0, ddof=1)
    sd[sd == 0] = np.inf
    return X / sd


def mean_coexpression(Z: np.ndarray, sets: np.ndarray) -> np.ndarray:
    """Mean pairwise Pearson r within each gene set, vectorised.

    ``Z`` is regions x genes, each column z-scored (ddof=1); ``sets`` is an ``(n_sets, k)`` integer array of
    column indices. With ``s = Z[:, S].sum(1)``, the sum of the ``k(k-1)`` off-diagonal correlations is
    ``||s||^2 / (n-1) - k``.
    """
    n = Z.shape[0]
    k = sets.shape[1]
    s = Z[:, sets].sum(2)  # (n, n_sets)
    return ((s ** 2).sum(0) / (n - 1) - k) / (k * (k - 1))


def expression_bins(expr: pd.DataFrame, n_bins: int = 10) -> pd.Series:
    """Decile (by default) of each gene's mean expression across the regions: the matching variable."""
    return pd.qcut(expr.mean(axis=0), n_bins, labels=False, duplicates="drop")


def matched_sets(bins: pd.Series, genes, n_sets: int, seed: int) -> np.ndarray:
    """``n_sets`` random gene sets with the same count per mean-expression bin as ``genes`` (column indices)."""
    rng = np.random.default_rng(seed)
    pos = pd.Series(np.arange(len(bins)), index=bins.index)
    cols = []
    for b, cnt in bins.loc[list(genes)].value_counts().sort_index().items():
        pool = pos[bins == b].to_numpy()
        cols.append(np.stack([rng.choice(pool, cnt, replace=False) for _ in range(n_sets)]))
    return np.concatenate(cols, axis=1)


@dataclass
class TightnessResult:
    observed: float
    null: np.ndarray
    p: float
    n_genes: int
    n_regions: int

    @property
    def null_mean(self) -> float:
        return float(self.null.mean())


def coexpression_tightness(expr: pd.DataFrame, genes, *, n_perm: int = 1000, seed: int = 0,
                           n_bins: int = 10) -> TightnessResult:
    """Mean co-expression among ``genes`` against random gene sets matched on mean expression.

    One-sided permutation P: ``(1 + #{null >= observed}) / (1 + n_perm)``.
    """
    known, _ = check_genes(genes, expr.columns)
    if len(known) < 3:
        raise GeneListError(f"co-expression needs at least 3 genes, got {len(known)}")
    Z = _zcols(expr.to_numpy(float))
    idx = pd.Series(np.arange(expr.shape[1]), index=expr.columns)
    obs = float(mean_coexpression(Z, idx.loc[known].to_numpy()[None, :])[0])
    null = mean_coexpression(Z, matched_sets(expression_bins(expr, n_bins), known, n_perm, seed))
    p = (1 + np.sum(null >= obs)) / (1 + n_perm)
    return TightnessResult(obs, null, float(p), len(known), expr.shape[0])


def coexpression_network(expr: pd.DataFrame, genes, *, min_r: float = 0.8, seed: int = 0):
    """Co-expression graph of ``genes`` (edges where Pearson r across regions >= ``min_r``), with Louvain
    modules (networkx, seeded) and per-gene degree, strength and module. Returns ``(graph, node table)``."""
    import networkx as nx

    known, _ = check_genes(genes, expr.columns)
    r = np.corrcoef(expr[known].to_numpy(float), rowvar=False)
    G = nx.Graph()
    G.add_nodes_from(known)
    iu = np.triu_indices(len(known), 1)
    keep = r[iu] >= min_r
    G.add_weighted_edges_from((known[i], known[j], float(r[i, j])) for i, j in zip(iu[0][keep], iu[1][keep], strict=True))
    comms = nx.community.louvain_communities(G, weight="weight", seed=seed) if G.number_of_edges() else \
        [{g} for g in known]
    module = {g: m for m, c in enumerate(sorted(comms, key=len, reverse=True)) for g in c}
    nodes = pd.DataFrame({"degree": dict(G.degree()), "strength": dict(G.degree(weight="weight")),
                          "module": module}).sort_values("strength", ascending=False)
    nodes.index.name = "gene"
    return G, nodes


# --------------------------------------------------------------------------------------------------- PPI
def rewire(edges: np.ndarray, n_nodes: int, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """Degree-preserving rewiring by double edge swaps, in vectorised rounds.

    Each round pairs all edges at random, proposes ``(a, b), (c, d) -> (a, d), (c, b)`` (orientation random) and
    accepts a pair's swap only if it creates no self-loop and no edge already present or proposed twice. Every
    node keeps its degree exactly; about half the edges move per round. The proposals come from ``rng`` (numpy);
    the acceptance runs compiled (:mod:`il6repro._rewire`, hash sets of the edge keys).
    """
    from ._rewire import swap_round, tables

    e = np.ascontiguousarray(edges, dtype=np.int64).copy()
    m = len(e)
    scratch = tables(m)
    for _ in range(rounds):
        perm = rng.permutation(m)
        if m % 2:
            perm = perm[:-1]
        i, j = perm[0::2], perm[1::2]
        flip = rng.random(len(j)) < 0.5
        swap_round(e, int(n_nodes), np.ascontiguousarray(i), np.ascontiguousarray(j), flip, *scratch)
    return e


@dataclass
class PPIResult:
    genes_in_network: list
    not_in_network: list
    observed_edges: int
    null_edges: np.ndarray
    p_degree_preserving: float
    expected_edges_config: float
    p_config_poisson: float
    string_version: str
    min_score: float

    @property
    def null_mean(self) -> float:
        return float(self.null_edges.mean()) if len(self.null_edges) else float("nan")


def ppi_enrichment(genes, links: pd.DataFrame, *, add=("IL6",), n_perm: int = 1000, seed: int = 0,
                   burn_in: int = 20, thin: int = 2, string_version: str = "", min_score: float = 0.9) -> PPIResult:
    """Are ``genes`` (+ ``add``) more connected in the PPI network than chance?

    Observed: edges among the set's nodes in ``links`` (protein1, protein2). Null 1: the same count in
    degree-preserving rewirings of the whole network (a Markov chain of :func:`rewire`: ``burn_in`` rounds, then
    one sample every ``thin`` rounds), one-sided P ``(1 + #{null >= obs}) / (1 + n_perm)``. Null 2: STRING's own
    expected-edges model for a set of these degrees (configuration model, ``sum_{i<j} d_i d_j / (2m)``) with a
    Poisson tail P.
    """
    nodes = pd.Index(pd.unique(links[["protein1", "protein2"]].to_numpy().ravel()))
    code = pd.Series(np.arange(len(nodes)), index=nodes)
    E = np.stack([code[links["protein1"]].to_numpy(), code[links["protein2"]].to_numpy()], 1)
    E = E[E[:, 0] != E[:, 1]]
    E = np.unique(np.sort(E, 1), axis=0)
    query = list(dict.fromkeys([*map(str, genes), *add]))
    known = [g for g in query if g in code.index]
    unknown = [g for g in query if g not in code.index]
    if len(known) < 2:
        raise GeneListError(f"fewer than 2 of the {len(query)} genes are in the PPI network")
    mask = np.zeros(len(nodes), bool)
    mask[code[known].to_numpy()] = True

    def count(e):
        return int(np.sum(mask[e[:, 0]] & mask[e[:, 1]]))

    obs = count(E)
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm, int)
    if n_perm:  # n_perm = 0: only the expected-edges model (no rewiring)
        e = rewire(E, len(nodes), burn_in, rng)
        for t in range(n_perm):
            e = rewire(e, len(nodes), thin, rng)
            null[t] = count(e)
    deg = np.bincount(E.ravel(), minlength=len(nodes)).astype(float)
    d = deg[mask]
    expected = float((d.sum() ** 2 - (d ** 2).sum()) / 2 / (2 * len(E)))
    p_dp = float((1 + np.sum(null >= obs)) / (1 + n_perm)) if n_perm else float("nan")
    return PPIResult(known, unknown, obs, null, p_dp, expected,
                     float(stats.poisson.sf(obs - 1, expected)), string_version, min_score)


def ppi_module(genes, links: pd.DataFrame, seed_gene: str = "IL6", max_linkers: int = 1):
    """The module around ``seed_gene``: the set's genes connected to it directly or through at most
    ``max_linkers`` intermediate proteins, with shortest-path lengths from ``seed_gene`` to every set gene.

    Returns ``(subgraph, paths)`` where ``paths`` is a Series gene -> shortest-path length in the full network
    (NaN when unreachable).
    """
    import networkx as nx

    G = nx.from_pandas_edgelist(links, "protein1", "protein2", edge_attr="score")
    if seed_gene not in G:
        raise GeneListError(f"{seed_gene} is not in the PPI network")
    genes = [g for g in dict.fromkeys(map(str, genes)) if g in G and g != seed_gene]
    lengths = nx.single_source_shortest_path_length(G, seed_gene, cutoff=max_linkers + 1)
    paths = pd.Series({g: lengths.get(g, np.nan) for g in genes}, name="shortest_path_from_" + seed_gene)
    members = {seed_gene}
    for g in genes:
        if g in lengths:
            members.update(nx.shortest_path(G, seed_gene, g))
    sub = G.subgraph(members).copy()
    for n in sub.nodes:
        sub.nodes[n]["role"] = "seed" if n == seed_gene else ("set" if n in genes else "linker")
    return sub, paths.sort_values()


# ------------------------------------------------------------------------------------------- enrichment
def enrich(genes, libraries: dict[str, dict[str, list[str]]], background, *, min_size: int = 5,
           max_size: int = 2000) -> pd.DataFrame:
    """Over-representation (hypergeometric) of ``genes`` in each library's sets, through ``gseapy.enrich``.

    Background = ``background`` (all genes in the matrix); each set is first restricted to the background and
    kept when it has ``min_size`` to ``max_size`` genes; Benjamini-Hochberg FDR within each library. Returns
    gseapy's table plus ``library``, ``overlap_n``, ``set_size``, ``odds_ratio`` and ``fdr`` columns.
    """
    import gseapy

    bg = set(map(str, background))
    known, unknown = check_genes(genes, bg, "enrichment gene list")
    parts = []
    for lib, sets in libraries.items():
        sets2 = {k: sorted(set(v) & bg) for k, v in sets.items()}
        sets2 = {k: v for k, v in sets2.items() if min_size <= len(v) <= max_size}
        if not sets2:
            continue
        res = gseapy.enrich(gene_list=known, gene_sets=sets2, background=sorted(bg), outdir=None, cutoff=1.0,
                            no_plot=True).results
        if res is None or res.empty:
            continue
        res = res.copy()
        res["library"] = lib
        parts.append(res)
    cols = ["library", "Term", "Overlap", "P-value", "Adjusted P-value", "Odds Ratio", "Genes"]
    if not parts:
        return pd.DataFrame(columns=cols + ["overlap_n", "set_size", "fdr"])
    out = pd.concat(parts, ignore_index=True)
    ov = out["Overlap"].str.split("/", expand=True).astype(int)
    out["overlap_n"], out["set_size"] = ov[0], ov[1]
    out["fdr"] = out.groupby("library")["P-value"].transform(
        lambda p: stats.false_discovery_control(p.to_numpy(), method="bh"))
    out.attrs["unknown_genes"] = unknown
    return out.sort_values("P-value").reset_index(drop=True)


# ------------------------------------------------------------------ rank-based enrichment under a null
def enrichment_scores(scores: np.ndarray, members: np.ndarray, weight: float = 1.0) -> np.ndarray:
    """GSEA enrichment score (Subramanian et al. 2005, as gseapy ``prerank`` computes it) of one gene set for
    every row of ``scores`` at once.

    ``scores`` is ``(n_rankings, n_genes)`` (e.g. the observed and every spun gene-map correlation); ``members``
    a boolean ``(n_genes,)`` mask of the set. Genes are ranked by descending score; the running sum steps up by
    ``|score|^weight / sum over hits`` at a hit and down by ``1 / (n_genes - n_hits)`` at a miss; ES is the
    signed maximum deviation from zero.
    """
    scores = np.atleast_2d(np.asarray(scores, float))
    order = np.argsort(-scores, axis=1, kind="stable")
    s = np.take_along_axis(scores, order, 1)
    hit = members[order]
    nh = int(members.sum())
    n = scores.shape[1]
    w = np.where(hit, np.abs(s) ** weight, 0.0)
    up = w / w.sum(1, keepdims=True)
    down = np.where(hit, 0.0, 1.0 / (n - nh))
    run = np.cumsum(up - down, axis=1)
    mx, mn = run.max(1), run.min(1)
    return np.where(np.abs(mx) >= np.abs(mn), mx, mn)


def gene_map_correlations(expr: pd.DataFrame, maps: np.ndarray) -> np.ndarray:
    """Pearson r of every gene with every map across regions: ``maps`` is ``(n_maps, n_regions)`` (rows may
    hold NaN regions, handled per map); returns ``(n_maps, n_genes)``."""
    X = expr.to_numpy(float)
    maps = np.atleast_2d(maps)
    out = np.empty((len(maps), X.shape[1]))
    ok_all = ~np.isnan(maps)
    patterns: dict[bytes, list[int]] = {}
    for i, ok in enumerate(ok_all):
        patterns.setdefault(np.packbits(ok).tobytes(), []).append(i)
    for rows in patterns.values():
        ok = ok_all[rows[0]]
        Zx = _zcols(X[ok])
        Zm = _zcols(maps[rows][:, ok].T)
        out[rows] = (Zm.T @ Zx) / (ok.sum() - 1)
    return out


# ---------------------------------------------------------------------------------- the online abagen route
def build_ahba_with_abagen(outdir, donors="all", ibf_threshold: float = 0.5) -> None:
    """Generator of the ``ahba_dk_abagen`` dataset: the donor-level DK matrices from the raw AHBA microarray.

    Online and optional (``pip install abagen==0.1.3``; downloads ~4 GB from brain-map.org). Writes
    ``expression_<donor>.csv`` per donor, ``expression_mean.csv`` and ``abagen_options.json``.
    """
    import json
    from pathlib import Path

    try:
        import abagen
    except ImportError as exc:
        raise ImportError("the abagen route needs `pip install abagen==0.1.3` and network access to "
                          "brain-map.org; the default run uses the carried donor-averaged matrix instead") from exc
    outdir = Path(outdir)
    atlas = abagen.fetch_desikan_killiany()
    opts = dict(donors=donors, ibf_threshold=ibf_threshold, return_donors=True)
    per_donor = abagen.get_expression_data(atlas["image"], atlas["info"], **opts)
    for d, df in per_donor.items():
        df.to_csv(outdir / f"expression_{d}.csv")
    pd.concat(per_donor.values()).groupby(level=0).mean().to_csv(outdir / "expression_mean.csv")
    (outdir / "abagen_options.json").write_text(json.dumps({"abagen": abagen.__version__, **opts}, default=str))


def enrichment_scores_many(scores: np.ndarray, sets: dict[str, np.ndarray], weight: float = 1.0) -> pd.DataFrame:
    """GSEA enrichment scores of many gene sets for every row of ``scores``, from the hit positions only.

    Identical to :func:`enrichment_scores` (and to gseapy ``prerank``'s ES) but without building the running sum
    over all genes: each row is ranked once; for a set with hits at sorted positions ``r_1 < ... < r_k`` and
    normalised weights ``w``, the running sum peaks just after a hit, ``sum_{j<=i} w_j - (r_i + 1 - i) / (N - k)``,
    and dips just before one, ``sum_{j<i} w_j - (r_i - i + 1) / (N - k)`` (i counted from 1). Cost per set is
    ``O(rows x k log k)``, so a spin or permutation null over thousands of rows and sets stays in numpy.

    ``sets`` maps a name to the column indices of its genes. Returns a rows x sets DataFrame.
    """
    scores = np.atleast_2d(np.asarray(scores, float))
    P, N = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(P)[:, None], order] = np.arange(N)[None, :]
    absw = np.abs(scores) ** weight
    out = {}
    for name, idx in sets.items():
        idx = np.asarray(idx)
        k = len(idx)
        r = rank[:, idx]  # (P, k)
        o = np.argsort(r, axis=1)
        r = np.take_along_axis(r, o, 1)
        w = np.take_along_axis(absw[:, idx], o, 1)
        cw = np.cumsum(w, axis=1) / w.sum(1, keepdims=True)
        i = np.arange(1, k + 1)[None, :]
        miss = 1.0 / (N - k)
        peak = cw - (r + 1 - i) * miss
        dip = (cw - w / w.sum(1, keepdims=True)) - (r - i + 1) * miss
        mx = np.maximum(peak.max(1), 0.0)
        mn = np.minimum(dip.min(1), 0.0)
        out[name] = np.where(np.abs(mx) >= np.abs(mn), mx, mn)
    return pd.DataFrame(out)


MTG_GENES_TABLE = "04_mtg_genes.csv"


def upstream_mtg_genes(expr: pd.DataFrame) -> tuple[list[str], dict, str]:
    """Notebook 04's MTG-preferential genes (``build/results/04_mtg_genes.csv``) with the rule that chose them;
    when notebook 04 has not run, the same selection with :func:`preferential_genes`' defaults.

    Returns ``(genes, rule, message)``; ``rule`` holds rule, threshold, reference and hemisphere.
    """
    import inspect

    from ._paths import upstream_result

    path = upstream_result(MTG_GENES_TABLE)
    if path is not None:
        sel = pd.read_csv(path, index_col="gene")
        rule = sel[["rule", "threshold", "reference", "hemisphere"]].iloc[0].to_dict()
        genes = sel.index.tolist()
        return genes, rule, f"{len(genes)} MTG genes from notebook 04 ({rule})"
    defaults = {k: v.default for k, v in inspect.signature(preferential_genes).parameters.items()
                if k in ("rule", "threshold", "reference", "hemisphere")}
    pg = preferential_genes(expr)
    genes = pg.index[pg["selected"]].tolist()
    return genes, defaults, (f"notebook 04's results not found: {len(genes)} MTG genes selected here with its "
                             f"defaults ({defaults})")
