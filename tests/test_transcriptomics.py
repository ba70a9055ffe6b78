"""Transcriptomics helpers: spin nulls, co-expression, the PPI null, enrichment (incl. agreement with gseapy)."""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from il6repro import brain
from il6repro import transcriptomics as TX
from il6repro.data import tables as T


@pytest.fixture(scope="module")
def spins():
    return brain.spin_indices(20, seed=7)


def test_spins_keep_each_hemisphere_and_are_reproducible(spins):
    coords = brain.sphere_coords()
    for h in ("left", "right"):
        n = len(coords[h])
        assert n == 10242 and spins[h].shape == (20, n)
        assert spins[h].min() >= 0 and spins[h].max() < n  # indices stay within the hemisphere
        # nearest-neighbour resampling is close to a permutation: most vertices are hit
        assert np.mean([len(np.unique(r)) for r in spins[h]]) > 0.85 * n
    again = brain.spin_indices(20, seed=7)
    other = brain.spin_indices(20, seed=8)
    assert all((again[h] == spins[h]).all() for h in spins)
    assert not (other["left"] == spins["left"]).all()
    # the right hemisphere spins by the mirror image of the left rotation, not by an independent one
    assert not (spins["left"] == spins["right"]).all()


def test_spin_test_self_correspondence_and_parcels(spins):
    labels, regions = T.load_dk_surface(), T.load_dk_regions()
    ctx = TX.cortical(T.load_ahba_dk(), "both")
    x = ctx["IL6R"]
    null = brain.spin_parcels(x, labels, regions, spins)
    assert null.shape == (20, 68) and list(null.columns) == list(x.index)
    # spun maps keep the range of the original parcel values
    assert np.nanmin(null.to_numpy()) >= x.min() - 1e-9 and np.nanmax(null.to_numpy()) <= x.max() + 1e-9
    res = brain.spin_test(x, ctx[["IL6R"]], labels=labels, regions=regions, spins=spins)
    assert res.loc["IL6R", "r"] == pytest.approx(1.0)
    assert res.loc["IL6R", "p_spin"] == pytest.approx(1 / 21)
    with pytest.raises(ValueError, match="method"):
        brain.spin_test(x, ctx[["IL6R"]], labels=labels, regions=regions, spins=spins, method="kendall")


def test_rewiring_keeps_degrees_and_simple_graph():
    G = nx.barabasi_albert_graph(400, 3, seed=1)
    E = np.array(G.edges())
    rng = np.random.default_rng(0)
    R = TX.rewire(E, 400, rounds=10, rng=rng)
    assert np.array_equal(np.bincount(E.ravel(), minlength=400), np.bincount(R.ravel(), minlength=400))
    assert (R[:, 0] != R[:, 1]).all()
    keys = np.minimum(R[:, 0], R[:, 1]) * 400 + np.maximum(R[:, 0], R[:, 1])
    assert len(np.unique(keys)) == len(R)  # no multi-edges
    old = set(map(tuple, np.sort(E, 1).tolist()))
    assert len(old - set(map(tuple, np.sort(R, 1).tolist()))) > 0.5 * len(E)  # most edges moved


def _rewire_numpy(edges, n_nodes, rounds, rng):
    """The numpy formulation the compiled round replaced (sorted keys + searchsorted, np.unique for duplicates)."""
    def keys(e):
        return np.minimum(e[:, 0], e[:, 1]).astype(np.int64) * n_nodes + np.maximum(e[:, 0], e[:, 1])

    e = edges.copy()
    m = len(e)
    for _ in range(rounds):
        i, j, flip = TX._round_proposals(m, rng)  # the same draws; the swaps below are the formulation compared
        c, d = np.where(flip, e[j, 1], e[j, 0]), np.where(flip, e[j, 0], e[j, 1])
        a, b = e[i, 0], e[i, 1]
        new1, new2 = np.stack([a, d], 1), np.stack([c, b], 1)
        ok = (a != d) & (c != b)
        cur = np.sort(keys(e))
        k1, k2 = keys(new1), keys(new2)
        for k in (k1, k2):
            ok &= cur[np.clip(np.searchsorted(cur, k), 0, m - 1)] != k
        ok &= k1 != k2
        uniq, cnt = np.unique(np.concatenate([k1[ok], k2[ok]]), return_counts=True)
        dup = uniq[cnt > 1]
        if len(dup):
            ok[ok] &= ~(np.isin(k1[ok], dup) | np.isin(k2[ok], dup))
        e[i[ok]], e[j[ok]] = new1[ok], new2[ok]
    return e


@pytest.mark.parametrize("seed", range(4))
def test_compiled_rewiring_equals_the_numpy_formulation(seed):
    G = nx.gnm_random_graph(300, 1501, seed=seed)  # odd edge count: one edge sits out each round
    E = np.array(G.edges())
    a = TX.rewire(E, 300, rounds=12, rng=np.random.default_rng(seed))
    b = _rewire_numpy(E, 300, 12, np.random.default_rng(seed))
    assert np.array_equal(a, b)


def test_ppi_null_finds_a_planted_clique_and_matches_the_configuration_model():
    G = nx.barabasi_albert_graph(600, 3, seed=2)
    links = pd.DataFrame([(f"P{a}", f"P{b}") for a, b in G.edges()], columns=["protein1", "protein2"])
    rand = [f"P{i}" for i in np.random.default_rng(3).choice(600, 30, replace=False)]
    r0 = TX.ppi_enrichment(rand, links, add=(), n_perm=200, seed=1)
    assert r0.null_mean == pytest.approx(r0.expected_edges_config, rel=0.25)
    clique = [f"P{i}" for i in range(500, 512)]
    extra = pd.DataFrame([(a, b) for i, a in enumerate(clique) for b in clique[i + 1:]],
                         columns=["protein1", "protein2"])
    r1 = TX.ppi_enrichment(clique + ["NOT_A_PROTEIN"], pd.concat([links, extra]), add=(), n_perm=200, seed=1)
    assert r1.observed_edges >= 66 and r1.p_degree_preserving < 0.01 and r1.p_config_poisson < 1e-6
    assert r1.not_in_network == ["NOT_A_PROTEIN"]


def test_mean_coexpression_matches_explicit_correlations():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(34, 50))
    Z = TX._zcols(X)
    sets = np.array([[0, 3, 7, 9], [10, 11, 12, 40]])
    got = TX.mean_coexpression(Z, sets)
    for s, g in zip(sets, got, strict=True):
        c = np.corrcoef(X[:, s], rowvar=False)
        assert g == pytest.approx(c[np.triu_indices(len(s), 1)].mean(), abs=1e-12)


def test_matched_sets_keep_the_expression_profile():
    rng = np.random.default_rng(5)
    expr = pd.DataFrame(rng.random((20, 300)), columns=[f"G{i}" for i in range(300)])
    bins = TX.expression_bins(expr, 10)
    genes = list(expr.columns[:25])
    sets = TX.matched_sets(bins, genes, 50, seed=1)
    want = bins.loc[genes].value_counts().sort_index()
    for s in sets:
        assert len(set(s)) == 25
        assert bins.iloc[s].value_counts().sort_index().equals(want)


def test_preferential_genes_rules_and_errors():
    a = T.load_ahba_dk()
    pg = TX.preferential_genes(a)
    assert pg["selected"].sum() == (pg["fold"] >= 1.2).sum() > 50
    top = TX.preferential_genes(a, rule="top", threshold=40)
    assert top["selected"].sum() == 40 and top["z"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="rule"):
        TX.preferential_genes(a, rule="pvalue")
    with pytest.raises(KeyError, match="not among"):
        TX.preferential_genes(a, target="middle_temporal")
    # notebook 04's "15 most preferential" follow the rule's own statistic: under the fold rule every one of them is
    # selected (sorted by z, BAX with fold 1.16 sat among them, "selected: no")
    shown = TX.top_preferential(pg, "fold")
    assert shown["selected"].all() and shown["fold"].is_monotonic_decreasing and "target" not in shown
    assert TX.top_preferential(top, "top")["z"].is_monotonic_decreasing


def test_enrichment_finds_a_planted_set_and_reports_unknown_symbols():
    rng = np.random.default_rng(6)
    universe = [f"G{i}" for i in range(2000)]
    planted = list(rng.choice(universe, 40, replace=False))
    lib = {"planted": planted}
    lib.update({f"random{i}": list(rng.choice(universe, 40, replace=False)) for i in range(30)})
    query = planted[:25] + list(rng.choice(universe, 25, replace=False)) + ["NOTAGENE1", "Sep-07"]
    res = TX.enrich(query, {"test": lib}, universe)
    assert res.iloc[0]["Term"] == "planted" and res.iloc[0]["fdr"] < 1e-10
    assert (res.loc[res.Term != "planted", "fdr"] > 0.01).all()
    assert res.attrs["unknown_genes"] == ["NOTAGENE1", "Sep-07"]
    with pytest.raises(TX.GeneListError, match="none of the 2 symbols"):
        TX.enrich(["NOTAGENE1", "NOTAGENE2"], {"test": lib}, universe)


def _gseapy(genes, sets, background):
    import gseapy

    return gseapy.enrich(gene_list=list(genes), gene_sets=sets, background=background, outdir=None, cutoff=1.0,
                         no_plot=True).results


def test_enrichment_table_equals_gseapy_enrich_on_the_real_libraries():
    from il6repro.data import tables

    expr = tables.load_ahba_dk()
    bg = set(map(str, expr.columns.drop("label")))
    pg = TX.preferential_genes(expr)
    mtg = pg.index[pg["selected"]].tolist()
    rng = np.random.default_rng(3)
    lists = {"MTG genes": mtg, "random 300": list(rng.choice(sorted(bg), 300, replace=False)),
             "lower-case": [g.lower() for g in mtg]}  # the list gseapy upper-cases: handed to gseapy itself
    libraries, _ = TX.load_libraries()
    restricted = TX._restrict(libraries, bg, 5, 2000)
    for lib, sets in restricted.items():
        for name, genes in lists.items():
            got = TX._gseapy_table(genes, sets, sorted(bg))
            want = _gseapy(genes, sets, sorted(bg))
            if want is None:
                assert got is None, (lib, name)
                continue
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"{lib}, {name}")
            assert name != "MTG genes" or len(got) > 100
            # the terms' genes made once for many lists (selection_sensitivity): the same table
            once = TX._gseapy_table(genes, sets, sorted(bg), TX._categories(sets, bg))
            pd.testing.assert_frame_equal(once, want, check_exact=True, obj=f"{lib}, {name}, categories")


def test_gseapy_bh_equals_gseapy():
    from gseapy.stats import multiple_testing_correction

    rng = np.random.default_rng(0)
    p = np.r_[rng.uniform(size=500) ** 3, [0.5] * 20, [np.nan] * 5, 1.0, 0.0]
    rng.shuffle(p)
    want, _ = multiple_testing_correction(ps=p, alpha=0.05, method="benjamini-hochberg")
    assert np.array_equal(TX._gseapy_bh(p), want, equal_nan=True)


def test_enrichment_scores_equal_gseapy_prerank():
    import gseapy

    rng = np.random.default_rng(8)
    genes = [f"G{i}" for i in range(600)]
    score = pd.Series(rng.normal(size=600), index=genes)
    sets = {"A": genes[:30], "B": list(rng.choice(genes, 45, replace=False)), "C": genes[-20:]}
    pre = gseapy.prerank(rnk=score, gene_sets=sets, permutation_num=0, outdir=None, min_size=5, no_plot=True,
                         seed=1, threads=1).res2d.set_index("Term")
    for k, v in sets.items():
        ours = TX.enrichment_scores(score.to_numpy()[None], np.isin(genes, v))[0]
        assert ours == pytest.approx(float(pre.loc[k, "ES"]), abs=1e-6)


def test_enrichment_scores_from_hit_positions_equal_the_running_sum():
    rng = np.random.default_rng(9)
    S = rng.normal(size=(40, 700))
    sets = {f"s{j}": rng.choice(700, int(rng.integers(3, 80)), replace=False) for j in range(25)}
    many = TX.enrichment_scores_many(S, sets)
    for name, idx in sets.items():
        mask = np.zeros(700, bool)
        mask[idx] = True
        assert np.allclose(many[name].to_numpy(), TX.enrichment_scores(S, mask), atol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
def test_argmax_last_axis_equals_numpy_first_maximum(order):
    from il6repro._argmax import argmax_last_axis

    a = np.asarray(np.random.default_rng(1).integers(0, 4, (6, 5, 7, 11)).astype(np.uint8), order=order)  # ties
    first, top = argmax_last_axis(a)
    assert np.array_equal(first, a.argmax(-1)) and np.array_equal(top, a.max(-1))


@pytest.mark.parametrize("seed", range(6))
def test_grouped_pearson_rows_equal_pearsonr_per_row_bit_for_bit(seed):
    """brain._corr_rows groups rows by their finite pattern and computes each group in pearsonr's arithmetic; every
    value must be the one scipy.stats.pearsonr gives row by row (NaN where it gives NaN)."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    A = rng.normal(size=(300, 40)) * 10 ** rng.uniform(-4, 4) + rng.uniform(-1e3, 1e3)
    A[rng.random(A.shape) < 0.05] = np.nan  # many finite patterns, as spun parcels on the medial wall give
    A[5, 3:] = np.nan  # too few finite entries: NaN
    A[7] = 2.5  # a constant row: NaN (pearsonr warns)
    A[9, :] = A[8, :]  # two rows sharing a pattern
    b = rng.normal(size=40)
    b[[1, 17]] = np.nan
    want = np.full(len(A), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, a in enumerate(A):
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() >= 3:
                want[i] = stats.pearsonr(a[ok], b[ok])[0]
        got = brain._corr_rows(A, b, "pearson")
    assert np.isnan(want[[5, 7]]).all()
    assert np.array_equal(got, want, equal_nan=True)


@pytest.mark.parametrize("n_nodes", [300, 50_000])
def test_rewiring_equals_the_numpy_formulation_with_int32_and_int64_keys(n_nodes):
    """300 nodes: keys held as int32; 50,000 (keys up to 2.5e9): int64. Same edges as the numpy rounds either way,
    and the chain kept between samples (as ppi_enrichment runs it) equals rewire() called per sample."""
    from il6repro import _rewire

    assert _rewire.key_dtype(n_nodes) is (np.int32 if n_nodes == 300 else np.int64)
    G = nx.gnm_random_graph(300, 1200, seed=3)
    E = np.array(G.edges()) * (n_nodes // 300)  # node labels spread over 0..n_nodes-1
    assert np.array_equal(TX.rewire(E, n_nodes, rounds=9, rng=np.random.default_rng(1)),
                          _rewire_numpy(E, n_nodes, 9, np.random.default_rng(1)))
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    chain = TX._RewireChain(E, n_nodes)
    e = E
    for _ in range(4):
        chain.run(2, rng_a)
        e = TX.rewire(e, n_nodes, 2, rng_b)
        assert np.array_equal(chain.e, e)
    # the sampler (proposals drawn ahead by a second thread) is the same chain, sample for sample
    from il6repro._rewire import edges_within

    mask = np.zeros(n_nodes, bool)
    mask[np.unique(E)[::3]] = True
    seq = TX._RewireChain(E, n_nodes)
    rng_c = np.random.default_rng(4)
    seq.run(5, rng_c)
    want = []
    for _ in range(7):
        seq.run(3, rng_c)
        want.append(int(np.sum(mask[seq.e[:, 0]] & mask[seq.e[:, 1]])))
    fast = TX._RewireChain(E, n_nodes)
    got = fast.sample(5, 3, 7, np.random.default_rng(4), lambda e: edges_within(e, mask))
    assert got.tolist() == want and np.array_equal(fast.e, seq.e)


def test_rewiring_sampler_passes_on_an_error_of_its_draws():
    G = nx.gnm_random_graph(50, 120, seed=1)
    chain = TX._RewireChain(np.array(G.edges()), 50)

    class Broken:
        def permutation(self, m):
            raise RuntimeError("the generator failed")

    with pytest.raises(RuntimeError, match="generator failed"):
        chain.sample(2, 2, 3, Broken(), len)


def test_the_upstream_rule_is_said_in_words_not_as_a_dict():
    """Notebooks 05 and 06 printed "459 MTG genes from notebook 04 ({'rule': 'fold', 'threshold': 1.2, ...})"."""
    from il6repro.transcriptomics import _rule_words

    assert _rule_words({"rule": "fold", "threshold": 1.2, "reference": "cortex", "hemisphere": "left"}) == (
        "fold >= 1.2 against the other cortex regions, left hemisphere")
    assert _rule_words({"rule": "top", "threshold": 500.0, "reference": "brain", "hemisphere": "both"}) == (
        "the top 500 genes against the other brain regions, both hemispheres")


def test_disorder_verdict_never_reads_untested_disorders_as_tested():
    """Notebook 06 said 'does not support it: enriched at q < 0.05: none' when only cognitive impairment (the press
    summary's) could be tested: the verdict now cannot judge while the abstract's disorders are untested."""
    def table(qs):
        rows = [{"disorder": d, "matching terms": 0, "best term": "(no library available)"} if q is None else
                {"disorder": d, "matching terms": 3, "best term": "t", "FDR q": q} for d, q in zip(TX.DISORDERS, qs, strict=True)]
        return pd.DataFrame(rows).set_index("disorder")

    holds, ev = TX.disorder_verdict(table([None, None, None, 0.498]), missing=["disgenet_gmt"])
    assert holds is None
    assert ev == ("not enriched: cognitive impairment (best q 0.498); not tested here, no library matched: "
                  "schizophrenia, autism spectrum disorder, epilepsy (libraries unavailable: disgenet_gmt)")
    assert TX.disorder_verdict(table([0.2, None, None, 0.01]))[0] is False  # an abstract disorder tested, not enriched
    assert TX.disorder_verdict(table([0.01, 0.02, 0.03, 0.04]))[0] is True
    assert TX.disorder_verdict(table([0.01, 0.02, 0.03, 0.5]))[0] is False
    assert TX.disorder_verdict(table([0.01, None, 0.03, 0.04]))[0] is None
    assert TX.disorder_verdict(table([None] * 4)) == (None, "not tested here, no library matched: schizophrenia, "
                                                           "autism spectrum disorder, epilepsy, cognitive impairment")


def test_a_disorder_matched_only_by_a_process_term_says_so(isolated, monkeypatch):
    """A reader's review: without the disease libraries, cognitive impairment was judged on the GO term "Cognition"
    and read as a disease result not reproduced on real data; its note now says what it was judged on."""
    import pandas as pd

    from il6repro import ledger
    from il6repro import transcriptomics as tx

    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "06_enrichment")
    rows = {d: {"matching terms": 0} for d in tx.DISORDERS}
    rows["cognitive impairment"] = {"matching terms": 3, "best term": "Cognition (GO:0050890)", "library": "GO_BP_2023",
                                    "overlap": "3/37", "P": 0.01, "FDR q": 0.498, "rules with q < 0.05": "0 of 7"}
    rows["epilepsy"] = {"matching terms": 1, "best term": "Epilepsy", "library": "DisGeNET", "overlap": "9/200",
                        "P": 1e-5, "FDR q": 0.01, "rules with q < 0.05": "7 of 7"}
    table = pd.DataFrame(rows).T
    rule = {"rule": "fold", "threshold": 1.2, "reference": "other regions"}
    ids = tx.record_disorders(table, n_genes=100, rule=rule, n_rules=7, missing=["HPO", "GWAS_Catalog_2019"])
    assert ids == ["W.ahba.enrich_epilepsy.q", "W.ahba.enrich_cognition.q"]
    from il6repro._paths import results_dir

    res = ledger.load_results(results_dir())
    assert res["W.ahba.enrich_cognition.q"]["note"].startswith(
        "judged on a GO_BP_2023 term, a process or pathway named like the disorder, not a disease gene set: "
        "GWAS_Catalog_2019, HPO were unavailable here; smallest FDR")
    assert res["W.ahba.enrich_epilepsy.q"]["note"].startswith("smallest FDR")  # a disease library's own term
    tx.record_disorders(table, n_genes=100, rule=rule, n_rules=7)  # every library here: no such note
    assert ledger.load_results(results_dir())["W.ahba.enrich_cognition.q"]["note"].startswith("smallest FDR")
