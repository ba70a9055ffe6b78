"""Shared fixtures: an isolated build folder, and purpose-built tiny notebooks for the runner (papermill's habit:
one small notebook per way of failing)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tinynb import write_notebook  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Send build outputs and figures to a temporary folder (the real build/ and figures/ are untouched)."""
    build = tmp_path / "build"
    figs = tmp_path / "figures"
    monkeypatch.setenv("IL6REPRO_BUILD", str(build))
    monkeypatch.setenv("IL6REPRO_FIGURES_DIR", str(figs))
    return {"build": build, "figures": figs, "tmp": tmp_path}


OK_NB = [
    ("md", "# Tiny OK notebook\nMakes a figure and records a claim."),
    ("params", 'n = 3  # number of points\nscale = 1.5\nlabel = "x"\nfail = False\nwait = 0.0\ndie = False'),
    ("code", """
import os, time
import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
from il6repro import ledger
from il6repro.figures import save, set_style
set_style()
if wait:
    time.sleep(wait)
if die:
    os._exit(1)
"""),
    ("code", """
fig, ax = plt.subplots()
ax.plot(range(n), [scale * i for i in range(n)], label=label)
save(fig, "tiny_line", caption="a line")
"""),
    ("code", """
if fail:
    raise ValueError("planted failure for the test")
ledger.record("W.ahba.n_donors", n, kind="real_data", note="tiny test")
print("done", n)
"""),
]


@pytest.fixture
def tiny_notebooks(tmp_path):
    """A notebooks folder with one tiny notebook ``01_tiny`` whose parameters can make it fail, hang or die."""
    folder = tmp_path / "nbs"
    folder.mkdir()
    write_notebook(folder / "01_tiny.ipynb", OK_NB)
    write_notebook(folder / "02_second.ipynb", [
        ("md", "# Second"),
        ("params", "k = 2"),
        ("code", "print(k * 2)"),
    ], depends=["01_tiny"])
    return folder
