"""The runner: parameter validation, skipping, receipts, determinism, and atomic failure (tiny notebooks)."""

from __future__ import annotations

import json

import pytest

from il6repro.__main__ import main
from il6repro.runner import ParameterError, run
from il6repro.runner.parameters import inspect_parameters


def _run(nbs, *args, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("log", lambda *a: None)
    return run("default", list(args), notebooks_dir=nbs, **kw)


def snapshot(paths):
    """Bytes of every output file (executed notebook, figures, results, receipt)."""
    out = {}
    for _key, folder in paths.items():
        for p in sorted(folder.rglob("*")):
            if p.is_file() and ".staging" not in p.parts and ".cache" not in p.parts and ".jupyter" not in p.parts:
                out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def test_inspect_parameters_types(tiny_notebooks):
    spec = inspect_parameters(tiny_notebooks / "01_tiny.ipynb")
    assert spec["n"]["type"] == "int" and spec["n"]["default"] == 3
    assert spec["scale"]["type"] == "float" and spec["label"]["type"] == "str"
    assert spec["fail"]["type"] == "bool"
    assert spec["n"]["help"] == "number of points"


@pytest.mark.parametrize("override, message", [
    (["nope=1"], "'nope' is declared by no selected notebook"),
    (["n=abc"], "'n' must be an integer; got 'abc'"),
    (["n=1.5"], "'n' must be an integer; got 1.5"),
    (["fail=3"], "'fail' must be true or false; got 3"),
    (["01.k=3"], "'k' is not declared by 01_tiny"),
    (["07.n=3"], "no selected notebook numbered '07'"),
    (["n"], "expected name=value"),
])
def test_bad_parameters_rejected_before_anything_runs(isolated, tiny_notebooks, override, message):
    with pytest.raises(ParameterError, match=message):
        _run(tiny_notebooks, *override)
    assert not (isolated["build"] / "notebooks").exists() or not any((isolated["build"] / "notebooks").iterdir())


def test_unknown_profile_rejected(isolated, tiny_notebooks):
    with pytest.raises(ParameterError, match="unknown profile 'fast'"):
        run("fast", notebooks_dir=tiny_notebooks, progress=False, log=lambda *a: None)


def test_cli_reports_parameter_error_with_exit_2(isolated, capsys):
    assert main(["run", "--only", "00", "-p", "no_such_param=1", "--no-progress"]) == 2
    assert "no_such_param" in capsys.readouterr().err


def test_run_skip_rerun_and_receipt(isolated, tiny_notebooks):
    b = isolated["build"]
    rep = _run(tiny_notebooks, "scale=2")  # int accepted for a float parameter
    assert [o.status for o in rep.outcomes] == ["ran", "ran"]
    receipt = json.loads((b / "receipts" / "01_tiny.json").read_text())
    assert receipt["parameters"] == {"n": 3, "scale": 2.0, "label": "x", "fail": False, "wait": 0.0, "die": False}
    assert set(receipt["figures"]) == {"tiny_line.png", "tiny_line.svg"}
    assert receipt["timing"]["wall_seconds"] > 0 and receipt["timing"]["peak_rss_mb"] > 10
    assert receipt["packages"]["papermill"] and receipt["git_commit"]
    assert (isolated["figures"] / "tiny_line.png").is_file()
    res = json.loads((b / "results" / "01_tiny.json").read_text())
    assert res["records"]["W.ahba.n_donors"]["value"] == 3
    # unchanged -> both skipped
    assert [o.status for o in _run(tiny_notebooks, "scale=2").outcomes] == ["skipped", "skipped"]
    # a changed parameter reruns that notebook, and its dependant (02 depends on 01)
    assert [o.status for o in _run(tiny_notebooks, "scale=2", "01.n=4").outcomes] == ["ran", "ran"]
    # scoped to 02 only: 01 skipped
    assert [o.status for o in _run(tiny_notebooks, "scale=2", "01.n=4", "02.k=5").outcomes] == ["skipped", "ran"]
    # --only selects
    assert [o.stem for o in _run(tiny_notebooks, "k=5", only=["02"]).outcomes] == ["02_second"]


def test_two_cold_runs_identical_apart_from_timing(isolated, tiny_notebooks):
    """Receipts (but their timing), results, figures and the executed notebooks themselves: papermill's and
    nbclient's timestamps, the staging path, the injected cell's random id and a figure's staging path shown by
    ``save`` used to make every executed notebook differ (issue 16)."""
    b = isolated["build"]
    _run(tiny_notebooks)
    first = {p.name: json.loads(p.read_text()) for p in (b / "receipts").glob("*.json")}
    first_results = (b / "results" / "01_tiny.json").read_bytes()
    first_fig = {p.name: p.read_bytes() for p in isolated["figures"].iterdir()}
    first_nbs = {p.name: p.read_bytes() for p in (b / "notebooks").iterdir()}
    _run(tiny_notebooks, force=True)
    second = {p.name: json.loads(p.read_text()) for p in (b / "receipts").glob("*.json")}
    for name in first:
        a, c = dict(first[name]), dict(second[name])
        a.pop("timing"), c.pop("timing")
        assert a == c, name
    assert (b / "results" / "01_tiny.json").read_bytes() == first_results
    assert {p.name: p.read_bytes() for p in isolated["figures"].iterdir()} == first_fig
    assert {p.name: p.read_bytes() for p in (b / "notebooks").iterdir()} == first_nbs
    assert len(first["01_tiny.json"]["timing"]["cell_seconds"]) == 4  # one per code cell


def test_failed_notebook_leaves_previous_outputs_untouched(isolated, tiny_notebooks, capsys):
    b = isolated["build"]
    _run(tiny_notebooks)
    before = snapshot({"build": b, "figures": isolated["figures"]})
    rep = _run(tiny_notebooks, "fail=true", "n=5")
    assert not rep.ok
    failed = rep.outcomes[-1]
    assert failed.stem == "01_tiny" and failed.status == "failed"
    assert "cell 5 of the executed copy (In [5])" in failed.message and "ValueError" in failed.message and "planted failure" in failed.message
    assert [o.stem for o in rep.outcomes] == ["01_tiny"], "the run stops at the first failure"
    after = snapshot({"build": b, "figures": isolated["figures"]})
    after = {k: v for k, v in after.items() if not k.startswith("failed/")}
    assert after == before
    assert (b / "failed" / "01_tiny.ipynb").is_file()


def test_hung_cell_times_out(isolated, tiny_notebooks):
    rep = _run(tiny_notebooks, "wait=60.0", only=["01"], cell_timeout=3)
    o = rep.outcomes[0]
    assert o.status == "failed" and o.wall_seconds < 45
    assert "Timeout" in o.message or "timed out" in o.message.lower()


def test_dead_kernel_is_an_error_not_a_hang(isolated, tiny_notebooks):
    rep = _run(tiny_notebooks, "die=true", only=["01"], cell_timeout=60)
    o = rep.outcomes[0]
    assert o.status == "failed" and o.wall_seconds < 60
    assert "DeadKernel" in o.message or "kernel" in o.message.lower()


def test_results_reader_reruns_when_results_change(isolated, tiny_notebooks):
    from tinynb import write_notebook

    write_notebook(tiny_notebooks / "09_reader.ipynb", [("md", "# Reader"), ("params", "x = 1"),
                                                        ("code", "print(x)")], reads_results=True)
    assert [o.status for o in _run(tiny_notebooks).outcomes] == ["ran", "ran", "ran"]
    assert [o.status for o in _run(tiny_notebooks).outcomes] == ["skipped", "skipped", "skipped"]
    # 01 records a different value -> its results change -> the reader reruns, 02 (depends on 01) too
    assert [o.status for o in _run(tiny_notebooks, "01.n=6").outcomes] == ["ran", "ran", "ran"]


def test_every_parameter_of_the_real_notebooks_is_recognised():
    """A comment papermill cannot parse (e.g. one holding "") silently drops a parameter, and `-p name=...` is then
    refused as unknown: every name assigned in a parameters cell must be inspected as a parameter."""
    import re
    from pathlib import Path

    from il6repro.runner.parameters import inspect_parameters

    nbs = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
    assert nbs
    for nb in nbs:
        cells = json.loads(nb.read_text())["cells"]
        params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        if not params:
            continue
        src = "".join(params[0]["source"])
        names = [m.group(1) for line in src.splitlines() if (m := re.match(r"^(\w+)\s*=", line))]
        got = set(inspect_parameters(nb))
        assert [n for n in names if n not in got] == [], nb.name


def test_outputs_of_a_removed_notebook_are_withdrawn(isolated, tiny_notebooks):
    """A notebook deleted (or renamed) from the source: its executed copy, receipt, results and figures go at the
    next run, so the book and the ledger never show a chapter that no longer exists."""
    b, figs = isolated["build"], isolated["figures"]
    assert _run(tiny_notebooks).ok
    assert (b / "receipts" / "01_tiny.json").is_file() and (figs / "tiny_line.png").is_file()
    (tiny_notebooks / "01_tiny.ipynb").rename(tiny_notebooks.parent / "01_tiny.ipynb.bak")
    seen = []
    _run(tiny_notebooks, log=seen.append)
    for path in (b / "receipts" / "01_tiny.json", b / "notebooks" / "01_tiny.ipynb", b / "results" / "01_tiny.json",
                 figs / "tiny_line.png"):
        assert not path.exists(), path
    assert any("01_tiny: no longer in the notebooks folder" in s for s in seen)
    assert (b / "receipts" / "02_second.json").is_file()


def test_worker_saves_the_executed_copy_at_the_end_not_per_cell(tmp_path, monkeypatch):
    """papermill saved the whole executed copy at the start and end of every cell, markdown included (2.5 s of the
    3.9 s a teaching notebook of 78 cells took with its code cells emptied); the worker's engine saves at most every
    SAVE_EVERY seconds while cells run and always at the end, with every output in the copy."""
    import nbformat
    import papermill as pm
    import papermill.engines as engines

    from il6repro.runner import worker
    from tinynb import write_notebook

    cells = [("params", "x = 1")]
    for i in range(30):
        cells += [("md", f"## part {i}"), ("code", f"print({i} * x)")]
    src, out = tmp_path / "many.ipynb", tmp_path / "out.ipynb"
    write_notebook(src, cells)
    saves = []
    real = engines.write_ipynb
    monkeypatch.setattr(engines, "write_ipynb", lambda nb, path: (saves.append(path), real(nb, path))[1])
    pm.execute_notebook(str(src), str(out), kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
                        engine_name=worker._engine(), shutdown_kernel="immediate")
    assert 2 <= len(saves) <= 4, len(saves)  # papermill's own engine: 2 x 61 cells + 2 = 124
    nb = nbformat.read(out, as_version=4)
    printed = [c.outputs[0]["text"].strip() for c in nb.cells if c.cell_type == "code" and c.outputs]
    assert printed == [str(i) for i in range(30)]
    assert all(c.metadata.papermill["status"] == "completed" for c in nb.cells)


def test_a_table_passes_on_only_the_cohorts_read_before_it_was_written(isolated, monkeypatch):
    """05 and 06 were listed as using the UK Biobank twin because they read 04's gene list, and 04 reads 02's
    z-map (made from the twin) for its spin test after writing that list: the AHBA analyses looked synthetic."""
    import pandas as pd

    from il6repro._paths import upstream_result, write_result_table
    from il6repro.data import log_cohort, read_data_log

    b = isolated["build"]
    stage = b / "stage04"
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(stage))
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(b / "log04.jsonl"))
    write_result_table(pd.DataFrame({"gene": ["A", "B"]}), "04_genes.csv", index=False)  # nothing read yet
    write_result_table(pd.DataFrame({"gene": ["A"]}), "04_late.csv", index=False)
    log_cohort("ukb", "twin ukb-abc", {"p.csv": "2" * 64})  # the z-map, read after the gene list
    write_result_table(pd.DataFrame({"z": [1.0]}), "04_after.csv", index=False)
    (b / "results").mkdir(parents=True)
    for f in stage.iterdir():
        f.rename(b / "results" / f.name)
    (b / "receipts").mkdir()
    (b / "receipts" / "04_ahba_mtg.json").write_text(json.dumps({
        "tables": sorted(p.name for p in (b / "results").iterdir()),
        "cohorts": {"ukb": {"source": "twin ukb-abc", "sha256": {"p.csv": "2" * 64}}}}))
    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(b / "stage05"))
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(b / "log05.jsonl"))
    assert pd.read_csv(upstream_result("04_genes.csv"))["gene"].tolist() == ["A", "B"]
    assert read_data_log() == []  # the gene list: no cohort inherited
    upstream_result("04_after.csv")
    assert [(r["id"], r["via"]) for r in read_data_log()] == [("ukb", "04_ahba_mtg")]  # a table made after: inherited
    (b / "results" / "04_late.csv.cohorts.json").unlink()  # no record (an older build): every cohort, as before
    upstream_result("04_late.csv")
    assert len(read_data_log()) == 2


def test_a_print_flushed_in_two_messages_is_saved_as_one(tmp_path):
    """Two cold runs of notebook 06 differed once: the kernel sent one print as its text and then its newline."""
    import nbformat

    from il6repro.runner.execute import normalize_executed

    def nb(outputs):
        book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(x)", outputs=outputs)])
        path = tmp_path / f"nb{len(outputs)}.ipynb"
        nbformat.write(book, path)
        normalize_executed(path, "06_enrichment")
        return nbformat.read(path, as_version=4).cells[0].outputs

    one = nb([nbformat.v4.new_output("stream", name="stdout", text="2,480 terms tested\n")])
    two = nb([nbformat.v4.new_output("stream", name="stdout", text="2,480 terms tested"),
              nbformat.v4.new_output("stream", name="stdout", text="\n")])
    assert one == two and len(two) == 1
