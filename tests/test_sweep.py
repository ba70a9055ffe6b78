"""What-if sweep: the grid is validated before anything runs; points are shared; a small sweep runs on a local
Dask cluster and its summary reaches the site."""

from __future__ import annotations

import json

import pytest
import yaml

from il6repro import sweep
from il6repro.__main__ import main
from il6repro.site import build_site


def _grid(tmp_path, choices, profile="quick"):
    p = tmp_path / "grid.yaml"
    p.write_text(yaml.safe_dump({"profile": profile, "choices": choices}))
    return p


def test_the_shipped_grid_is_valid_and_shares_the_default_run():
    profile, items = sweep.load_grid()
    assert profile == "quick"
    pts = sweep.points(items)
    default = [p for p in pts if p.key == "default"]
    assert len(default) == 1 and default[0].overrides == {}
    assert set(default[0].notebooks) == {"02", "04", "05", "06", "07", "08"}
    assert len(default[0].labels) == len(items)  # every choice's default value is that one run
    assert len({p.key for p in pts}) == len(pts) == 1 + sum(len(c["values"]) - 1 for c in items)
    seeds = [p for p in pts if p.overrides == {"07.seed": 1, "08.seed": 1}]
    assert len(seeds) == 1 and seeds[0].cli()[-6:] == ["-p", "07.seed=1", "-p", "08.seed=1", "-p", "n_seeds=0"]


@pytest.mark.parametrize("choice, message", [
    ({"name": "x", "param": "02.no_such", "notebooks": ["02"], "values": [1]}, "has no parameter 'no_such'"),
    ({"name": "x", "param": "02.n", "notebooks": ["02"], "values": ["many"]}, "must be an integer"),
    ({"name": "x", "param": "n", "notebooks": ["77"], "values": [1]}, "no notebook '77'"),
    ({"name": "x", "param": "n", "notebooks": ["09"], "values": [1]}, "declares 'n'"),
    ({"name": "x", "notebooks": ["02"], "values": [1]}, "lacks 'param'"),
])
def test_bad_grids_are_refused_before_running(tmp_path, choice, message):
    with pytest.raises(sweep.SweepError, match=message):
        sweep.load_grid(_grid(tmp_path, [choice]))
    assert main(["sweep", "--grid", str(_grid(tmp_path, [choice])), "--no-progress"]) == 2


def test_unknown_choice_name(tmp_path):
    with pytest.raises(sweep.SweepError, match="unknown choice"):
        sweep.load_grid(choices=["no such choice"])


def test_summary_marks_what_survives():
    items = [{"name": "cut", "values": ["a", "b"]}, {"name": "seed", "values": [1, 2]}]
    results = [
        {"key": "default", "ok": True, "labels": ["cut = a", "seed = 1"], "conclusions": {"C1": True, "C2": None}},
        {"key": "b", "ok": True, "labels": ["cut = b"], "conclusions": {"C1": False, "C2": None}},
        {"key": "s2", "ok": False, "labels": ["seed = 2"], "message": "boom"},
    ]
    t = sweep.summary_table(results, items)
    assert list(t.index) == ["C1"]  # C2 is touched by no run
    assert t.loc["C1", "holds under"] == "1 of 2 runs"  # 'cut = a' and 'seed = 1' are one run
    assert t.loc["C1", "cut = b"] == "no" and t.loc["C1", "seed = 2"] == "failed"


def test_conclusions_use_the_ledger_rules_and_power_sits_beside_them():
    """The sweep's V conclusions are the ledger's conclusion rules; the twin's power over seeds is a column."""
    rec = {"V.rr_repeated": {"value": 1.191, "ci": [0.987, 1.438]},
           "V.rr_low_vs_high.agesex": {"value": 1.15, "ci": [1.06, 1.25]}}
    c = sweep.conclusions(rec, {})
    assert c["V: repeatedly low IL-6 -> more resolution (CI above 1)"] is False
    assert c["V: low IL-6 -> more resolution (CI above 1)"] is True
    assert c["V: IL-6 falls more in resolved cases (CI below 0)"] is None
    power = sweep.twin_power({"V.rr_repeated": {"power": 0.455, "n_seeds": 200}})  # 200 seeds: 0.5% steps, shown
    assert power == {"V: repeatedly low IL-6 -> more resolution (CI above 1)": "45.5% of 200 seeds"}
    items = [{"name": "seed", "values": [1]}]
    results = [{"key": "default", "ok": True, "labels": ["seed = 1"], "conclusions": c}]
    t = sweep.summary_table(results, items, power)
    assert t.loc["V: repeatedly low IL-6 -> more resolution (CI above 1)", "twin power (over seeds)"] == \
        "45.5% of 200 seeds"
    assert list(t.columns[:2]) == ["holds under", "twin power (over seeds)"]


@pytest.mark.slow
def test_a_small_sweep_on_a_local_dask_cluster(isolated, tmp_path, capsys, monkeypatch):
    grid = _grid(tmp_path, [{"name": "Whitehall twin N", "param": "n", "notebooks": ["07", "08"],
                             "values": [1500, 2500]}])
    assert main(["sweep", "--grid", str(grid), "--workers", "2", "--no-progress"]) == 0
    out = isolated["build"] / "sweep"
    summary = (out / "summary.csv").read_text()
    assert "V: low IL-6 -> more resolution (CI above 1)" in summary and "Whitehall twin N = 2500" in summary
    assert (out / "summary.png").stat().st_size > 5000
    meta = json.loads((out / "summary.json").read_text())
    assert meta["n_points"] == 2 and meta["workers"] == 2 and meta["failed"] == []
    points = (out / "points.csv").read_text()
    assert points.count("True") == 2
    for key in ("07_n_1500-08_n_1500", "07_n_2500-08_n_2500"):
        rec = next((out / "points").glob(key + "*"))
        receipt = json.loads((rec / "receipts" / "07_whitehall_resolution.json").read_text())
        assert receipt["parameters"]["n"] in (1500, 2500) and receipt["profile"] == "quick"
    # the no-op rerun (issue 16): every point is up to date, so no cluster is started and nothing is rewritten
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    import dask.distributed

    def no_cluster(*a, **k):
        raise AssertionError("a no-op sweep must not start a Dask cluster")

    monkeypatch.setattr(dask.distributed, "LocalCluster", no_cluster)
    capsys.readouterr()
    assert main(["sweep", "--grid", str(grid), "--workers", "2", "--no-progress"]) == 0
    assert "all 2 run(s) up to date" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    site = build_site(log=lambda *a: None)
    page = (site / "sweep.html").read_text()
    assert "Whitehall twin N = 1500" in page and "_images/sweep_summary.png" in page
    assert "caption-number" not in page  # not numbered on after every figure of the book ("Figure 40")
    assert (site / "_images" / "sweep_summary.png").is_file()
