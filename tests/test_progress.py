"""Progress inside a long cell: the line a loop reports (il6repro.progress) reaches the runner's bar."""

from __future__ import annotations

import time

from conftest import write_notebook
from il6repro import overseeds, progress


def test_report_writes_one_line_throttled_and_the_last_always(tmp_path, monkeypatch):
    f = tmp_path / "progress.txt"
    progress.report("work", 1, 10)  # no runner: nothing written, nothing raised
    assert not f.exists()
    monkeypatch.setenv(progress.ENV, str(f))
    monkeypatch.setattr(progress, "_last", [float("-inf")])
    progress.report("over-seeds", 1, 1000, "seeds")
    assert progress.read(f) == "over-seeds: 1 of 1,000 seeds"
    progress.report("over-seeds", 2, 1000, "seeds")  # within 0.5 s of the last: skipped
    assert progress.read(f) == "over-seeds: 1 of 1,000 seeds"
    progress.report("over-seeds", 1000, 1000, "seeds")  # the last always
    assert progress.read(f) == "over-seeds: 1,000 of 1,000 seeds"
    assert progress.read(tmp_path / "none.txt") == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.txt"]  # no temporary left


def _slow_many(seeds, params):
    out = []
    for s in seeds:
        time.sleep(0.05)
        out.append([{"seed": s, "claim": "x", "value": float(s)}])
        overseeds._drew_one()
    return out


def test_overseeds_count_the_seeds_drawn_across_worker_processes(tmp_path, monkeypatch):
    f = tmp_path / "progress.txt"
    monkeypatch.setenv(progress.ENV, str(f))
    for jobs in (1, 2):
        f.unlink(missing_ok=True)
        out = overseeds._run("whitehall", _slow_many, {"jobs": jobs}, list(range(1, 13)), jobs, cache=False)
        assert sorted(out["seed"]) == list(range(1, 13))
        assert progress.read(f) == "over-seeds (Whitehall II): 12 of 12 seeds"


SLOW_NB = [
    ("md", "# A long cell"),
    ("params", "steps = 4"),
    ("code", """
import time
from il6repro import progress
for i in range(steps):
    time.sleep(1.5)
    progress.report("simulations", i + 1, steps, "draws", every=0)
print("done")
"""),
]


def test_a_long_cell_shows_its_time_and_what_it_reported_on_the_bar(tmp_path, monkeypatch, capfd):
    """Before, the bar stood still for the whole of a long cell (03's and 08's over-seeds at 1,000+ seeds)."""
    from il6repro.runner import run

    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "01_slow.ipynb", SLOW_NB)
    monkeypatch.setenv("IL6REPRO_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("IL6REPRO_FIGURES_DIR", str(tmp_path / "figures"))
    rep = run(notebooks_dir=nbs, progress=True, log=lambda *a: None)
    assert rep.ok
    err = capfd.readouterr().err
    assert "this cell" in err and "simulations: " in err and " of 4 draws" in err
    assert not list((tmp_path / "build").rglob("progress.txt"))  # left in the staging folder, removed with it
