"""The notebooks' one source: ``notebooks/NN_name.py`` (jupytext percent format), paired with an output-free
``NN_name.ipynb`` that must say exactly the same thing, and linted as code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks"
SOURCES = sorted(NB.glob("[0-9][0-9]_*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_has_one_source_and_its_twin():
    ipynbs = sorted(NB.glob("[0-9][0-9]_*.ipynb"))
    assert SOURCES, "no notebook sources"
    assert [p.stem for p in SOURCES] == [p.stem for p in ipynbs], \
        "every notebooks/NN_name.py needs its paired .ipynb and vice versa (run `jupytext --sync notebooks/*.py`)"
    assert not list((ROOT / "tools").glob("make_nb*.py")), "notebooks are no longer generated from strings"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_ipynb_is_the_paired_twin_of_its_source(src):
    text = jupytext.read(src)
    twin = nbformat.read(src.with_suffix(".ipynb"), as_version=4)
    assert _cells(text) == _cells(twin), (
        f"{src.with_suffix('.ipynb').name} differs from {src.name}: edit the .py and run "
        f"`jupytext --sync notebooks/{src.name}`")
    assert text.metadata.get("il6repro") == twin.metadata.get("il6repro"), f"{src.name}: il6repro metadata differ"
    for c in twin.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, f"{src.stem}.ipynb is stored with outputs"


def test_a_differing_twin_is_detected(tmp_path):
    """The check above can fail: change one line of a copy of a source and compare with the untouched twin."""
    src = SOURCES[0]
    edited = tmp_path / src.name
    edited.write_text(src.read_text().replace("# %% [markdown]\n# #", "# %% [markdown]\n# # EDITED", 1))
    assert _cells(jupytext.read(edited)) != _cells(nbformat.read(src.with_suffix(".ipynb"), as_version=4))


def test_notebook_sources_pass_ruff():
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(NB)], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]
