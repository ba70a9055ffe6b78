"""Typed loaders on the real public data, and their schema errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from il6repro.brain import region_map
from il6repro.data import tables


@pytest.fixture(scope="module")
def expr():
    return tables.load_ahba_dk()


def test_ahba_matrix_shape_and_genes(expr):
    genes = expr.columns.drop("label")
    assert expr.shape == (83, 15634) and len(genes) == 15633
    assert "IL6" not in genes and {"IL6R", "IL6ST"} <= set(genes)
    assert expr.index[13] == "L_middletemporal" and int(expr.loc["R_middletemporal", "label"]) == 55


def test_dk_surface_and_regions():
    surf = tables.load_dk_surface()
    regions = tables.load_dk_regions()
    assert surf["left"].shape == (10242,) and set(np.unique(surf["left"])) == set(range(0, 35))
    assert set(np.unique(surf["right"])) == {0, *range(42, 76)}
    assert len(regions) == 83


def test_region_map_paints_vertices(expr):
    surf, regions = tables.load_dk_surface(), tables.load_dk_regions()
    vals = expr.loc[["L_middletemporal", "L_fusiform"], "IL6R"]
    m = region_map(vals, surf, regions)
    mtg = surf["left"] == 14
    assert np.allclose(m["left"][mtg], vals["L_middletemporal"])
    assert np.isnan(m["left"][surf["left"] == 0]).all() and np.isnan(m["right"]).all()
    with pytest.raises(KeyError, match="none of the regions"):
        region_map(pd.Series({"not_a_region": 1.0}), surf, regions)


def test_donors_table():
    d = tables.load_ahba_donors()
    assert len(d) == 6 and (d["sex"] == "M").sum() == 5 and d["age"].mean() == pytest.approx(42.5)


def test_string_and_gmt():
    links = tables.load_string_links()
    assert len(links) == 97928 and links["score"].min() >= 0.9
    with pytest.raises(ValueError, match=">= 0.9"):
        tables.load_string_links(min_score=0.4)
    kegg = tables.load_gmt("kegg_2021_human")
    assert len(kegg) > 300 and "IL6" in kegg["JAK-STAT signaling pathway"]


def test_corrupt_table_fails_schema(tmp_path, monkeypatch):
    bad = tmp_path / "donor_info.csv"
    bad.write_text("donor,uid,age,sex\nA,1,30,M\nA,2,200,X\n")

    class R:
        def __getitem__(self, k):
            return bad

    monkeypatch.setattr(tables, "resolve", lambda *a, **k: R())
    with pytest.raises(tables.TableError) as err:
        tables.load_ahba_donors()
    msg = str(err.value)
    assert "ahba_donors" in msg and "in_range" in msg and "isin" in msg


def test_ahba_matrix_cache_gives_the_parsed_frame_and_rebuilds_a_damaged_copy(isolated):
    parsed = tables.load_ahba_dk()  # parses, then keeps the validated matrix in build/cache/tables
    kept = sorted((isolated["build"] / "cache" / "tables").glob("ahba_dk-*"))
    assert [p.suffix for p in kept] == [".json", ".npy"]
    again = tables.load_ahba_dk()
    pd.testing.assert_frame_equal(again, parsed, check_exact=True)
    assert again.index.dtype == parsed.index.dtype and list(again.dtypes) == list(parsed.dtypes)
    kept[1].write_bytes(kept[1].read_bytes()[:1000])  # a truncated copy is not trusted
    pd.testing.assert_frame_equal(tables.load_ahba_dk(), parsed, check_exact=True)
    pd.testing.assert_frame_equal(tables.load_ahba_dk(), parsed, check_exact=True)  # rewritten whole


def test_a_share_of_seeds_reads_the_same_everywhere():
    """A reader's review: the twin's power read 96.5% in notebook 03, 96% in the ledger and 0.965 in its details."""
    from il6repro.report import fmt_share

    assert [fmt_share(x) for x in (0.965, 0.93, 0.455, 1.0)] == ["96.5%", "93.0%", "45.5%", "100.0%"]
    assert fmt_share(0.838, 0.93) == "83.8-93.0%" and fmt_share(0.4, 0.5) == "40.0-50.0%"
    assert fmt_share(float("nan")) == "—" and fmt_share(0.5, float("nan")) == "—"


def test_the_ledger_and_the_sweep_write_shares_with_that_formatter():
    from il6repro import ledger, sweep

    c = next(c for c in ledger.load_claims().values() if c.id == "W.mr.il6.gmv_mtg.z")
    dist = ledger.distribution(c.id, [5.0] * 193 + [1.0] * 7)
    row = ledger.compare({c.id: {"value": 5.1, "ci": None, "kind": "planted_twin", "note": ""}},
                         distributions={c.id: dist}).set_index("claim").loc[c.id]
    assert row["conclusion_verdict"] == "holds in 96.5% of seeds"
    assert "holds in 96.5% of 200 seeds (exact 95% CI 92.9-98.6%" in row["reason"]
    assert sweep.twin_power({"V.rr_repeated": {"power": 0.965, "n_seeds": 200}}) == \
        {"V: repeatedly low IL-6 -> more resolution (CI above 1)": "96.5% of 200 seeds"}
