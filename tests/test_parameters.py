"""Notebook parameters: typed in the parameters cell (papermill reads the annotation), checked before anything runs
by the runner and again by the notebook's first code cell (so plain papermill fails at once, with the same line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from il6repro import params
from il6repro.params import ParameterError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAPER = NOTEBOOKS  # the paper (00-09) and the course units (1x): every parameter typed and checked first


# ------------------------------------------------------------------------------------------ the vocabulary
@pytest.mark.parametrize("annotation,value,expected", [
    ("Probability", 0.05, 0.05), ("Probability", 1, None), ("Probability", 0, None), ("Probability", 2, None),
    ("Seed", 0, 0), ("Seed", -1, None), ("Seed", 1.5, None), ("Seed", 3.0, 3), ("Seed", True, None),
    ("Draws", 100, 100), ("Draws", 99, None), ("Draws", 0, None),
    ("SampleSize", 20688, 20688), ("SampleSize", 5, None), ("SampleSize", 100, None), ("SampleSize", 200, 200),
    ("NonNegative", 0, 0.0), ("NonNegative", -0.1, None), ("Positive", 0, None), ("Positive", 2.5, 2.5),
    ("Fraction", 1, 1.0), ("Fraction", 1.01, None), ("float", float("nan"), None), ("float", float("inf"), None),
    ("StringScore", 0.95, 0.95), ("StringScore", 0.4, None),
    ("Choice[fixed, random, default]", "random", "random"), ("Choice[fixed, random, default]", "randm", None),
    ("Choice[1, 2, 3]", 2, 2), ("Choice[1, 2, 3]", "2", None), ("Choice[1, 2, 3]", 4, None),
    ("IntRange[1, 30]", 30, 30), ("IntRange[1, 30]", 31, None), ("IntRange[0, 3]", -1, None),
    ("Or[Choice[median], Positive]", "median", "median"), ("Or[Choice[median], Positive]", 2.5, 2.5),
    ("Or[Choice[median], Positive]", 2, 2.0), ("Or[Choice[median], Positive]", -1, None),
    ("Or[Choice[median], Positive]", "mean", None),
    ("DKRegion", "fusiform", "fusiform"), ("DKRegion", "MTG", None),
    ("str", "IL6R", "IL6R"), ("str", 3, None), ("bool", False, False), ("bool", 0, None), ("int", 3, 3),
])
def test_types_accept_and_refuse(annotation, value, expected):
    if expected is None:
        with pytest.raises(ParameterError) as err:
            params.check("x", value, annotation, where="NN_demo")
        msg = str(err.value)
        assert msg.startswith("NN_demo: parameter 'x' must be ") and repr(value) in msg and "\n" not in msg
    else:
        out = params.check("x", value, annotation)
        assert out == expected and type(out) is type(expected)


def test_extract_must_exist(tmp_path):
    assert params.check("extract", "", "Extract") == ""
    assert params.check("extract", str(tmp_path), "Extract") == str(tmp_path)
    a, b = tmp_path / "p.csv", tmp_path / "d.raw"
    a.write_text("x")
    b.write_text("y")
    assert params.check("extract", f"{a}:{b}", "Extract")
    with pytest.raises(ParameterError, match="no such file or folder"):
        params.check("extract", str(tmp_path / "missing.csv"), "Extract")


def test_unknown_type_names_are_the_authors_error():
    with pytest.raises(ParameterError, match="unknown parameter type 'Probabilty'"):
        params.parse("Probabilty")


def test_check_parameters_reads_the_annotations_of_a_namespace():
    ns = {"__annotations__": {"alpha": "Probability", "n": int, "free": "str"}, "alpha": 0.05, "n": 3, "free": "x"}
    params.check_parameters(ns)
    ns["alpha"] = 2  # what papermill's injected cell does
    with pytest.raises(ParameterError, match="'alpha' must be a number strictly between 0 and 1; got 2"):
        params.check_parameters(ns, where="02_mr_scan")
    ns["alpha"], ns["n"] = 0.05, "3"
    with pytest.raises(ParameterError, match="'n' must be an integer"):
        params.check_parameters(ns)
    ns["n"] = 3
    ns.update({"In": [""], "Out": {}, "_i1": "x", "check_parameters": params.check_parameters, "pd": pytest})
    params.check_parameters(ns)  # the session's own names, functions and modules are not parameters
    ns["sed"] = 3  # `papermill ... -p sed 3`: papermill only warns
    with pytest.raises(ParameterError, match=r"02_mr_scan: unknown parameter 'sed' .*; its parameters: alpha, n, free"):
        params.check_parameters(ns, where="02_mr_scan")


def test_the_error_renders_as_one_line_in_ipython():
    err = ParameterError("02_mr_scan: parameter 'alpha' must be ...")
    assert err._render_traceback_() == ["ParameterError: 02_mr_scan: parameter 'alpha' must be ..."]


# ------------------------------------------------------------------------------------------ the notebooks
def _parameters_cell(nb: Path) -> str:
    cells = json.loads(nb.read_text())["cells"]
    return "".join(next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))["source"])


@pytest.mark.parametrize("nb", PAPER, ids=lambda p: p.stem)
def test_every_parameter_is_typed_and_its_default_passes(nb):
    import papermill as pm

    inspected = pm.inspect_notebook(str(nb))
    assert inspected
    for name, info in inspected.items():
        ann = (info["inferred_type_name"] or "None").strip("'\"")
        assert ann not in ("None", ""), f"{nb.name}: parameter {name!r} has no type annotation"
        default = eval(info["default"])  # noqa: S307 - the notebook's own literal
        params.check(name, default, ann, where=nb.stem)
        assert info["help"], f"{nb.name}: parameter {name!r} has no help comment"


@pytest.mark.parametrize("nb", PAPER, ids=lambda p: p.stem)
def test_every_notebook_checks_its_parameters_first(nb):
    cells = json.loads(nb.read_text())["cells"]
    i = next(i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    nxt = next(c for c in cells[i + 1:] if c["cell_type"] == "code")
    src = "".join(nxt["source"])
    assert src.startswith("from il6repro.params import check_parameters\n\ncheck_parameters(globals())"), nb.name


def test_help_notebook_shows_a_type_for_every_parameter():
    out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(ROOT / "notebooks" / "02_mr_scan.ipynb")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Unknown type" not in out.stdout
    assert "alpha: Probability (default 0.05)" in out.stdout
    assert "ivw_model: Choice[fixed, random, default]" in out.stdout


# ------------------------------------------------------------------------------------------ through the runner
BAD = [
    ("02", "alpha=2", "'alpha' must be a number strictly between 0 and 1; got 2"),
    ("02", "alpha=0", "'alpha' must be a number strictly between 0 and 1; got 0"),
    ("03", "n_boot=0", "'n_boot' must be an integer >= 100; got 0"),
    ("08", "n_seeds=1", "'n_seeds' must be one of 0 or an integer from 2 to 10000; got 1"),  # was cell 18's error
    ("02", "ivw_model=randm", "'ivw_model' must be one of 'fixed', 'random', 'default'; got 'randm'"),
    ("02", "seed=-1", "'seed' must be an integer >= 0; got -1"),
    ("07", "il6_cut=-1", "'il6_cut' must be one of 'median' or a number > 0; got -1"),
    ("01", "n=5", "'n' must be an integer >= 200; got 5"),
    ("02", "correction=holm", "'correction' must be one of 'bonferroni', 'fdr'; got 'holm'"),
    ("04", "target=MTG", "'target' must be a Desikan-Killiany cortical region name"),
    ("05", "string_min_score=0.4", "'string_min_score' must be a STRING combined score from 0.9 to 1"),
    ("02", "harmonise_action=4", "'harmonise_action' must be one of 1, 2, 3; got 4"),
    ("07", "extract=/no/such/file.csv", "'extract' must be \"\" (the synthetic twin) or the path"),
    ("08", "on_bad_ghq=ignore", "'on_bad_ghq' must be one of 'error', 'missing'; got 'ignore'"),
    ("02", "n=lots", "'n' must be an integer >= 200; got 'lots'"),
]


@pytest.mark.parametrize("only,override,message", BAD, ids=[b[1] for b in BAD])
def test_runner_refuses_bad_values_before_anything_runs(isolated, only, override, message):
    from il6repro.runner import execute

    with pytest.raises(ParameterError) as err:
        execute.run(overrides=[override], only=[only], progress=False, log=lambda *_: None)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"{only}_")  # names the notebook
    assert not (isolated["build"] / "notebooks").exists() or not list((isolated["build"] / "notebooks").iterdir())


def test_runner_accepts_a_number_or_median_for_il6_cut(isolated):
    from il6repro.runner.execute import discover
    from il6repro.runner.parameters import inspect_parameters, load_profile, resolve_parameters

    nbs = discover(only=["07"])
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    for text, want in (("2.5", 2.5), ("2", 2.0), ("median", "median")):
        got = resolve_parameters(nbs, specs, load_profile("default"), [f"il6_cut={text}"])
        assert got["07_whitehall_resolution"]["il6_cut"] == want


def test_cli_values_read_as_typed(isolated, tmp_path, monkeypatch):
    """A rerunner's review: YAML 1.1 read -p seed=010 as octal 8 and refused seed=08, 1e-3 and 1e5 were strings,
    an empty value was None and '#' cut a path; a relative extract path, checked from the shell's folder, failed
    inside the notebook (run in notebooks/); the later of -p 02.seed=1 -p seed=2 won over the notebook's own."""
    from il6repro.runner.execute import discover
    from il6repro.runner.parameters import (
        inspect_parameters,
        load_profile,
        parse_cli_value,
        resolve_parameters,
    )

    for text, want in (("010", 10), ("08", 8), ("1e-3", 0.001), ("1e5", 1e5), ("", ""), ("a #2", "a #2"),
                       ("on", "on"), ("true", True), ("null", None), ("[1, 2]", [1, 2]), ("IL6R", "IL6R")):
        got = parse_cli_value(text)
        assert got == want and type(got) is type(want), (text, got)
    nbs = discover(only=["02", "07"])
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    prof = load_profile("default")
    got = resolve_parameters(nbs, specs, prof, ["02.seed=1", "seed=010", "n=1e4"])
    assert got["02_mr_scan"]["seed"] == 1 and got["07_whitehall_resolution"]["seed"] == 10
    assert got["07_whitehall_resolution"]["n"] == 10000 and type(got["07_whitehall_resolution"]["n"]) is int
    (tmp_path / "wh.csv").write_text("x\n")
    monkeypatch.chdir(tmp_path)
    got = resolve_parameters(nbs, specs, prof, ["whitehall.extract=wh.csv"])
    assert got["07_whitehall_resolution"]["extract"] == str(tmp_path / "wh.csv") and got["02_mr_scan"]["extract"] == ""
    with pytest.raises(ParameterError, match=r"each read their own extract: give -p ukb.extract=FOLDER"):
        resolve_parameters(nbs, specs, prof, ["extract=wh.csv"])
    with pytest.raises(ParameterError, match=r"ukb.gene: no selected notebook of the UK Biobank notebooks"):
        resolve_parameters(nbs, specs, prof, ["ukb.gene=IL6"])


def test_twin_parameters_passed_with_a_real_extract_are_named(tmp_path):
    """A rerunner's review: -p ukb.extract=... -p n=5000 -p seed=7 -p pleiotropy_sd=2 ran without a word that n, seed
    and pleiotropy_sd shape only the synthetic twin."""
    from il6repro.runner.execute import discover
    from il6repro.runner.parameters import (
        inspect_parameters,
        load_profile,
        resolve_parameters,
        twin_only_overrides,
    )

    nbs = discover(only=["02", "07"])
    specs = {s: inspect_parameters(p) for s, p in nbs.items()}
    ov = [f"ukb.extract={tmp_path}", "n=5000", "seed=7", "pleiotropy_sd=2", "alpha=0.01"]
    params = resolve_parameters(nbs, specs, load_profile("default"), ov)
    assert twin_only_overrides(specs, params, ov) == {"02_mr_scan": ["seed", "n", "pleiotropy_sd"]}
    assert twin_only_overrides(specs, params, ["alpha=0.01"]) == {}


def test_an_extract_edited_in_place_is_not_up_to_date(tmp_path):
    """A rerunner's review: one byte of an extract changed with its size and mtime kept (cp -p, rsync -a) and the
    runner said "1 up to date" over stale results. The key now follows the content of the files the loaders read."""
    import os

    from il6repro.runner.execute import _param_files_digest

    f = tmp_path / "whitehall_wide.csv"
    f.write_text("stno,x\n1,2\n")
    (tmp_path / "notes.txt").write_text("a")
    before = {"file": _param_files_digest({"extract": str(f)}), "folder": _param_files_digest({"extract": str(tmp_path)})}
    st = f.stat()
    f.write_text("stno,x\n1,3\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert _param_files_digest({"extract": str(f)}) != before["file"]
    assert _param_files_digest({"extract": str(tmp_path)}) != before["folder"]


def test_cell_timeout_must_be_a_positive_whole_number(capsys):
    """A rerunner's review: --cell-timeout 0 and -5 were accepted without a word."""
    from il6repro.__main__ import main

    for bad, words in (("0", "0 is not above 0"), ("-5", "-5 is not above 0"), ("x", "'x' is not a whole number")):
        for flag in ("--cell-timeout", "--notebook-timeout"):
            with pytest.raises(SystemExit) as ex:
                main(["run", flag, bad])
            assert ex.value.code == 2 and words in capsys.readouterr().err


def test_cli_prints_one_line_and_exits_nonzero(isolated):
    out = subprocess.run([sys.executable, "-m", "il6repro", "run", "--only", "02", "-p", "alpha=2"],
                         capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == ["error: 02_mr_scan: parameter 'alpha' must be a number strictly between 0 and 1; got 2"], \
        out.stderr


# ------------------------------------------------------------------------------------------ through plain papermill
@pytest.mark.slow
@pytest.mark.parametrize("nb,name,value,message", [
    ("02_mr_scan", "alpha", 2, "parameter 'alpha' must be a number strictly between 0 and 1; got 2"),
    ("07_whitehall_resolution", "il6_cut", -1, "parameter 'il6_cut' must be one of 'median' or a number > 0"),
    # a rerunner's review: papermill only warned "Passed unknown parameter: sed" and ran on the default seed
    ("07_whitehall_resolution", "sed", 3, "unknown parameter 'sed' (passed to the notebook, which declares no such"),
])
def test_plain_papermill_fails_in_the_check_cell(isolated, tmp_path, nb, name, value, message):
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from il6repro.runner.execute import KERNEL, _kernel_dir

    jp = _kernel_dir(isolated["build"])
    os.environ["JUPYTER_PATH"] = str(jp)
    try:
        with pytest.raises(PapermillExecutionError) as err:
            pm.execute_notebook(str(ROOT / "notebooks" / f"{nb}.ipynb"), str(tmp_path / "out.ipynb"),
                                parameters={name: value}, kernel_name=KERNEL, progress_bar=False,
                                cwd=str(ROOT / "notebooks"))
    finally:
        os.environ.pop("JUPYTER_PATH", None)
    assert err.value.ename == "ParameterError" and message in err.value.evalue
    assert err.value.traceback == [f"ParameterError: {err.value.evalue}"]  # one line, no traceback
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    failed = [c for c in executed["cells"] if c["cell_type"] == "code" and c.get("outputs")
              and c["outputs"][0].get("output_type") == "error"]
    assert len(failed) == 1 and "check_parameters(globals())" in "".join(failed[0]["source"])
    assert failed[0]["metadata"]["papermill"]["duration"] < 2.0


# ------------------------------------------------------------------------------------------ hand runs
def test_hand_runs_write_to_scratch_never_to_published(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from il6repro import _paths, figures

    monkeypatch.setenv("IL6REPRO_BUILD", str(tmp_path / "build"))
    monkeypatch.setenv("IL6REPRO_ROOT", str(ROOT))
    monkeypatch.delenv("IL6REPRO_FIGURES_DIR", raising=False)
    monkeypatch.delenv("IL6REPRO_RESULTS_DIR", raising=False)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    saved = figures.save(fig, "zz_hand_run", show=False)
    assert saved.png.parent == tmp_path / "build" / "scratch" / "figures"
    assert not (ROOT / "figures" / "zz_hand_run.png").exists()
    assert _paths.results_dir() == tmp_path / "build" / "scratch" / "results"
    assert _paths.figures_dir() == ROOT / "figures"  # what the runner publishes into and the site reads


def test_relative_folder_variables_are_made_absolute_for_the_kernels(tmp_path):
    """A relative IL6REPRO_BUILD (or cache, mirror ...) means the same folder in the runner and in the notebook
    kernels it starts from notebooks/: the first process that reads it makes it absolute for its children (a
    relative build folder split the build between build/quick and notebooks/build/quick)."""
    (tmp_path / "notebooks").mkdir()
    child = ("import os, il6repro._paths as p; print(p.build_dir()); print(p.cache_dir()); "
             "print(os.environ['IL6REPRO_DATA_MIRRORS'])")
    parent = ("import os, subprocess, sys, il6repro._paths as p; print(p.build_dir()); "
              f"sys.stdout.flush(); subprocess.run([sys.executable, '-c', {child!r}], cwd='notebooks', check=True)")
    env = dict(os.environ, IL6REPRO_BUILD="build/quick", IL6REPRO_CACHE="cache",
               IL6REPRO_DATA_MIRRORS="mirror:/abs/mirror")
    out = subprocess.run([sys.executable, "-c", parent], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    root = tmp_path.resolve()
    assert out == [str(root / "build" / "quick"), str(root / "build" / "quick"), str(root / "cache"),
                   f"{root / 'mirror'}:/abs/mirror"]


def test_real_extracts_are_read_once_before_any_notebook_runs(tmp_path, monkeypatch):
    """A bad extract failed in a notebook's kernel, after the cohort's earlier notebooks were republished from it
    (e.g. 01 from the extract, 02 stopping, 03 still on the twin). The runner now reads each extract once with the
    notebooks' loader before running anything."""
    from il6repro.runner import parameters as rp
    from il6repro.twins import ukb, whitehall

    twin = ukb.write(tmp_path / "ukb", n=200, seed=4)
    table = whitehall.simulate(n=300, seed=3)["table"]
    table.to_csv(tmp_path / "wh.csv", index=False)
    table.assign(sex=table["sex"].map({1: "Male", 2: "Female"})).to_csv(tmp_path / "bad.csv", index=False)
    calls = []
    real_load = ukb.load
    monkeypatch.setattr(ukb, "load", lambda *a, **k: calls.append(a) or real_load(*a, **k))
    logged = []
    ok = {"01_ukb": {"extract": str(twin)}, "02_mr": {"extract": str(twin)}, "03_x": {"extract": str(twin)},
          "07_wh": {"extract": str(tmp_path / "wh.csv"), "on_bad_ghq": "error"}, "04_ahba": {"x": 1}}
    rp.check_extracts(ok, logged.append)
    assert len(calls) == 1  # one read for the three UK Biobank notebooks
    assert any(m.startswith("checked the UK Biobank extract before running (200 participants") for m in logged)
    assert any(m.startswith("checked the Whitehall II extract before running (300 participants") for m in logged)
    with pytest.raises(ParameterError, match=r"^the Whitehall II extract .*bad\.csv: bad\.csv: column 'sex'"):
        rp.check_extracts({"07_wh": {"extract": str(tmp_path / "bad.csv")}}, logged.append)
    with pytest.raises(ParameterError, match=r"^the UK Biobank extract .*nowhere: extract .* not found"):
        rp.check_extracts({"02_mr": {"extract": str(tmp_path / "nowhere")}}, logged.append)
    rp.check_extracts({"01_ukb": {"extract": ""}, "07_wh": {"extract": ""}}, logged.append)  # twins: nothing read
    assert len(calls) == 1
