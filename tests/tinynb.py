"""Test helper: write a tiny purpose-built notebook from a list of (kind, source) cells, outputs stripped.

Papermill's habit: one small notebook per way of failing. The paper's own notebooks are authored as jupytext
percent files (``notebooks/NN_name.py``), not with this helper.
"""

from __future__ import annotations

import nbformat


def write_notebook(path, cells, *, depends=None, reads_results=False):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    meta = {}
    if depends is not None:
        meta["depends"] = list(depends)
    if reads_results:
        meta["reads_results"] = True
    if meta:
        nb.metadata["il6repro"] = meta
    out = []
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        if kind == "md":
            c = nbformat.v4.new_markdown_cell(src)
        elif kind == "raw":  # an otter-assign delimiter (# BEGIN QUESTION ...)
            c = nbformat.v4.new_raw_cell(src)
        else:
            c = nbformat.v4.new_code_cell(src)
            if kind == "params":
                c.metadata["tags"] = ["parameters"]
            elif kind == "solution":  # a teaching exercise's solution (tag read by the book)
                c.metadata["tags"] = ["solution"]
        c["id"] = f"cell-{i:02d}"
        out.append(c)
    nb.cells = out
    nbformat.validate(nb)
    nbformat.write(nb, path)
