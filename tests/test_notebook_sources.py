"""The notebooks' one source: ``notebooks/NN_name.py`` (jupytext percent format), paired with an output-free
``NN_name.ipynb`` that must say exactly the same thing, and linted as code."""

from __future__ import annotations

import re
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


ANNOTATION = re.compile(r'^(\w+)\s*:\s*(?:"[^"]*"|\w+)\s*=', re.M)


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_sources_have_no_undefined_names(src):
    """The per-file ignore of F821 (parameter type strings are not Python names) must not hide a real undefined
    name: lint each source again with its parameter annotations stripped."""
    text = ANNOTATION.sub(r"\1 =", src.read_text())
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F821",
                          "--config", "builtins = ['display']", "--stdin-filename", src.name, "-"], input=text,
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-3000:]


@pytest.mark.parametrize("src", [s for s in SOURCES if s.name[:2] <= "09"], ids=lambda p: p.stem)
def test_notebooks_are_thin(src):
    """A notebook holds the story, parameters, calls, tables and figures: no code cell over 15 lines, and no loop
    computing a statistic (the algorithms live in il6repro, with their tests)."""
    import ast

    for i, cell in enumerate(jupytext.read(src).cells):
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        assert len(lines) <= 15, f"{src.name}: code cell {i} has {len(lines)} lines (at most 15)"
        tree = ast.parse(cell.source)
        loops = [n for n in ast.walk(tree) if isinstance(n, ast.For | ast.While)]
        for loop in loops:  # a loop may draw figures (save(...)), not compute
            body = ast.unparse(loop)
            assert "save(" in body or "print(" in body, f"{src.name}: cell {i} loops: {body.splitlines()[0]}"
