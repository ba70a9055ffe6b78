"""Data governance: a notebook that shows individual-level data fails the run and publishes nothing; the site is
scanned before it replaces the old one; aggregate tables pass."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import write_notebook
from il6repro import governance as g
from il6repro.runner import run
from il6repro.site import build_site

LEAKY = [
    ("md", "# Leaky notebook\nShows participant data when told to."),
    ("params", 'leak = "none"  # none | ids | renamed | small | suppressed | fields'),
    ("code", """
import pandas as pd
from il6repro import governance, ledger
people = pd.DataFrame({"stno": [40001 + 7 * i for i in range(25)], "ghq_p3": range(25), "il6_p3": [1.5] * 25,
                       "il6_p5": [1.7] * 25, "age_p3": [50.0] * 25})
governance.register_ids(people["stno"])  # what the extract loaders do
ledger.record("W.ahba.n_donors", 6, kind="real_data")
if leak == "ids":
    display(people.head())
elif leak == "renamed":  # ids as an unnamed index, no id column name and fewer than 3 raw fields shown
    display(people.set_index("stno").rename_axis(None)[["ghq_p3"]].head())
elif leak == "fields":
    display(people.drop(columns="stno").head(3))
elif leak == "small":
    display(pd.DataFrame({"group": ["low IL-6", "high IL-6"], "n": [120, 4]}))
elif leak == "suppressed":
    display(governance.suppress_small(pd.DataFrame({"group": ["low IL-6", "high IL-6"], "n": [120, 4]})))
else:  # an aggregate, shown as the book's notebooks show tables (the book refuses pandas' own)
    from il6repro import report
    display(report.table(people[["ghq_p3"]].describe(), "leaky-describe", precision=2))
"""),
]


@pytest.fixture
def leaky(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    write_notebook(folder / "01_leaky.ipynb", LEAKY)
    return folder


@pytest.mark.parametrize("leak, kind", [("ids", "id column"), ("renamed", "participant ids"),
                                        ("fields", "extract fields"), ("small", "small cell")])
def test_a_leaking_notebook_fails_and_publishes_nothing(isolated, leaky, leak, kind):
    b = isolated["build"]
    rep = run("default", [f"leak={leak}"], notebooks_dir=leaky, progress=False, log=lambda *a: None)
    assert not rep.ok
    msg = rep.outcomes[0].message
    assert "data-governance" in msg and kind in msg and "nothing was published" in msg
    assert not (b / "notebooks" / "01_leaky.ipynb").exists()
    assert not (b / "results" / "01_leaky.json").exists()
    assert not (b / "receipts" / "01_leaky.json").exists()


@pytest.mark.parametrize("leak", ["none", "suppressed"])
def test_aggregates_pass(isolated, leaky, leak):
    rep = run("default", [f"leak={leak}"], notebooks_dir=leaky, progress=False, log=lambda *a: None)
    assert rep.ok, rep.outcomes[0].message
    b = isolated["build"]
    assert (b / "notebooks" / "01_leaky.ipynb").is_file()
    ids = (b / "governance" / "01_leaky.ids").read_text().split()
    assert len(ids) == 25 and (b / "governance" / "01_leaky.ids").stat().st_mode & 0o077 == 0


def test_site_with_a_leak_is_refused_and_the_old_site_kept(isolated, leaky):
    b = isolated["build"]
    assert run("default", ["leak=none"], notebooks_dir=leaky, progress=False, log=lambda *a: None).ok
    site = build_site(log=lambda *a: None)
    before = (site / "notebooks" / "01_leaky.html").read_text()
    # a leaking executed notebook that bypassed the runner (e.g. copied in by hand)
    assert not run("default", ["leak=ids"], notebooks_dir=leaky, progress=False, log=lambda *a: None).ok
    (b / "notebooks" / "01_leaky.ipynb").write_bytes((b / "failed" / "01_leaky.ipynb").read_bytes())
    with pytest.raises(g.GovernanceError, match="id column"):
        build_site(force=True, log=lambda *a: None)
    assert (site / "notebooks" / "01_leaky.html").read_text() == before
    assert not list(site.parent.glob(".html-*"))


def test_scan_rules():
    ids = frozenset(str(i) for i in range(100000, 100050))
    people = pd.DataFrame({"eid": range(100000, 100005), "21003-2.0": 1, "25000-2.0": 2, "25001-2.0": 3})
    kinds = {f.kind for f in g.scan_html(people.to_html(), "x", ids)}
    assert kinds == {"id column", "extract fields", "participant ids"}
    # prose with numbers, a large count and a zero count are fine
    ok = pd.DataFrame({"group": ["a", "b", "c"], "n": [20688, 0, 15], "z": [5.76, 1.0, 2.0]})
    assert g.scan_html(ok.to_html() + "<p>N = 20688, seed 20220101, 100003 once</p>", "x", ids) == []
    assert [f.kind for f in g.scan_html("<table><tr><td>Female, n (%)</td><td>7 (0.1)</td></tr></table>", "x")] == \
        ["small cell"]
    text = "stno  ghq\n0  100001  3\n1  100002  4"
    assert {f.kind for f in g._scan_table(g._text_tables(text)[0], "t", ids, 10)} == {"id column", "participant ids"}
    assert g._scan_text("ids 100001, 100002 and 100003", "t", ids)[0].kind == "participant ids"
    sup = g.suppress_small(pd.DataFrame({"n": [3, 10, 0], "label": ["a", "b", "c"]}))
    assert sup["n"].tolist() == ["<10", 10, 0]


def test_scan_notebook_ignores_code_but_reads_outputs(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": "df[['eid', 'age']]", "outputs": [
        {"output_type": "execute_result", "data": {"text/plain": "   age\n0  55.0\n1  57.0"}}]}]}
    p = tmp_path / "x.ipynb"
    p.write_text(json.dumps(nb))
    assert g.scan_notebook(p) == []
    nb["cells"][0]["outputs"][0]["data"]["text/plain"] = "   eid  age\n0  1234567  55.0"
    p.write_text(json.dumps(nb))
    assert [f.kind for f in g.scan_notebook(p)] == ["id column"]
