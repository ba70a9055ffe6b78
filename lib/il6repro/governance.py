"""Data governance: no individual-level data in executed notebooks or on the site.

The cohorts behind study W and V are access-controlled; their analyses may print aggregates only (DESIGN.md,
conventions). :func:`scan_notebook` and :func:`scan_site` look through every output a reader could see for

``id column``
    a table (HTML or a pandas text repr) with a column or index named like a participant id (``eid``, ``stno``,
    ``participant_id``, ...): per-person rows.
``participant ids``
    values of the ids the extract loaders registered during the run (:func:`register_ids`): three or more distinct
    ids in one output, or any in a table cell, whatever the column is called. Only ids that can be told apart from
    other numbers are matched (:func:`distinctive_ids`): at least 5 characters, from a sparse id set. Short ids
    and dense ones (an extract renumbered 1..N) coincide with counts, years and test numbers, so matching their
    values would fail ordinary tables; such tables of people are still caught by the id column and extract field
    rules.
``extract fields``
    a table with three or more column headers that are raw extract fields (UK Biobank ``<field>-<instance>.<array>``
    names, the Whitehall wide-layout columns): per-person rows of the extract.
``small cell``
    a count under ``min_cell`` (default 10) people: in a column named like a count of people (``n``, ``count``,
    ``cases``, ``participants`` ...) or written as ``k (x%)``. Zero is allowed (it identifies nobody).

The runner scans each executed notebook before committing it (a finding fails the notebook and nothing is
published), and ``build_site`` scans the rendered pages before replacing the old site. Helpers that make tables of
people use :func:`suppress_small` (or their own ``min_cell``) so that the scan passes by construction.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

MIN_CELL = 10
ID_NAME = re.compile(r"^(eid|f\.eid|n_eid|stno|iid|fid|participant[ _]?id|person[ _]?id|subject[ _]?id|"
                     r"patient[ _]?id|individual[ _]?id)$", re.I)
COUNT_NAME = re.compile(r"^(n|n_?people|n_?persons|n_?participants|participants|people|persons|count|n_?cases|"
                        r"cases|non[-_ ]?cases|n_?obs(ervations)?|n_?resolved|resolved|persistent|n_?events|events|"
                        r"individuals|n_?individuals)$", re.I)
UKB_FIELD = re.compile(r"^\d{2,6}-\d+\.\d+$")
N_PCT = re.compile(r"^\s*([1-9])\s*\(\s*\d+(\.\d+)?\s*%?\s*\)\s*$")
WHITEHALL_WIDE = re.compile(r"^(ghq|il6|date|age|bmi|smoke|chronic)_p\d$", re.I)


class GovernanceError(RuntimeError):
    """Individual-level data found in an output that would be published."""


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.detail}"


# ------------------------------------------------------------------------------------------------ ids
def register_ids(ids) -> None:
    """Called by the extract loaders: remember the participant ids of this run so outputs can be scanned for them.

    Writes to ``$IL6REPRO_IDS_FILE`` when the runner set it (a file in the notebook's staging folder, moved to
    ``build/governance/``, never published); does nothing in an interactive session.
    """
    path = os.environ.get("IL6REPRO_IDS_FILE")
    if not path:
        return
    vals = sorted({str(v).strip() for v in ids if str(v).strip()})
    with open(path, "a") as fh:
        fh.write("\n".join(vals) + "\n")


MIN_ID_CHARS = 5  # shorter ids (1..9999) are indistinguishable from counts, years, numbers of tests
MAX_ID_DENSITY = 0.05  # numeric ids filling more of 0..max than this cannot be told from other numbers


@functools.lru_cache(maxsize=8)
def distinctive_ids(ids: frozenset[str]) -> frozenset[str]:
    """The ids whose values can be matched in outputs: none when the set is dense numbers (e.g. 1..N, or
    10,000 ids among 10000..99999, where most 5-digit counts would be an id), else those of 5+ characters."""
    if not ids:
        return ids
    if all(i.isdigit() for i in ids):
        top = max(int(i) for i in ids)
        if len(ids) / (top + 1) >= MAX_ID_DENSITY:
            return frozenset()
    return frozenset(i for i in ids if len(i) >= MIN_ID_CHARS)


def load_ids(paths) -> frozenset[str]:
    out: set[str] = set()
    for p in paths:
        p = Path(p)
        if p.is_file():
            out.update(line.strip() for line in p.read_text().splitlines() if line.strip())
    return frozenset(out)


# ------------------------------------------------------------------------------------------------ tables
class _Tables(HTMLParser):
    """Collect the tables of an HTML document: each a list of rows (header rows included) of cell texts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []  # open (possibly nested) tables, each a list of rows
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._stack:
            self._stack[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(text: str) -> list[list[list[str]]]:
    """Every table of an HTML string as a list of rows (header rows included) of cell texts."""
    p = _Tables()
    p.feed(text)
    return p.tables


def _text_tables(text: str) -> list[list[list[str]]]:
    """A pandas text repr as one 'table' of whitespace-split rows (good enough for header and cell tests)."""
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    return [lines] if len(lines) >= 2 else []


def _scan_table(rows: list[list[str]], where: str, ids: frozenset[str], min_cell: int) -> list[Finding]:
    out: list[Finding] = []
    if not rows:
        return out
    header_rows = rows[:2]
    headers = [c for r in header_rows for c in r]
    id_cols = sorted({c for c in headers if ID_NAME.match(c.strip())})
    if id_cols:
        out.append(Finding(where, "id column", f"table with a participant-id column {id_cols}"))
    fields = sorted({c for c in headers if UKB_FIELD.match(c.strip()) or WHITEHALL_WIDE.match(c.strip())})
    if len(fields) >= 3:
        out.append(Finding(where, "extract fields", f"table with {len(fields)} raw extract columns, e.g. {fields[:3]}"))
    # count columns: position of each count-named header in the first row that has it
    for hr in header_rows:
        idx = [i for i, c in enumerate(hr) if COUNT_NAME.match(c.strip())]
        if not idx:
            continue
        offset = 0
        body = rows[rows.index(hr) + 1:]
        widths = {len(r) for r in body}
        if widths and max(widths) == len(hr) + 1:  # index column in the body, not in this header row
            offset = 1
        for r in body:
            for i in idx:
                j = i + offset
                if j < len(r):
                    v = r[j].replace(",", "").strip()
                    if re.fullmatch(r"[1-9]", v) or re.fullmatch(r"[1-9]\.0+", v):
                        if int(float(v)) < min_cell:
                            out.append(Finding(where, "small cell", f"{hr[i]!r} = {v} (< {min_cell} people)"))
        break
    for r in rows:
        for c in r:
            if N_PCT.match(c) and int(N_PCT.match(c).group(1)) < min_cell:
                out.append(Finding(where, "small cell", f"'{c}' (n (%) under {min_cell})"))
    if ids:
        hits = sorted({c.strip() for r in rows for c in r if c.strip() in ids})
        if hits:
            out.append(Finding(where, "participant ids", f"{len(hits)} participant id(s) in table cells"))
    return out


def _scan_text(text: str, where: str, ids: frozenset[str]) -> list[Finding]:
    if not ids:
        return []
    tokens = set(re.findall(r"(?<![\w.+-])(?<!\d,)\d{4,}(?!\w|[.,]\d)", text))
    hits = tokens & ids
    if len(hits) >= 3:
        return [Finding(where, "participant ids", f"{len(hits)} distinct participant ids in one output")]
    return []


def scan_html(text: str, where: str, ids: frozenset[str] = frozenset(), min_cell: int = MIN_CELL) -> list[Finding]:
    ids = distinctive_ids(frozenset(ids))
    out = []
    for k, rows in enumerate(html_tables(text)):
        out += _scan_table(rows, f"{where} table {k + 1}", ids, min_cell)
    visible = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.I)
    plain = html.unescape(re.sub(r"<[^>]+>", " ", visible))
    out += _scan_text(plain, where, ids)
    return out


def scan_notebook(path: str | Path, ids: frozenset[str] = frozenset(), min_cell: int = MIN_CELL) -> list[Finding]:
    """Findings in the outputs of an executed notebook (sources are not scanned: code may name ``eid``)."""
    nb = json.loads(Path(path).read_text())
    name = Path(path).name
    ids = distinctive_ids(frozenset(ids))
    out: list[Finding] = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        for o in cell.get("outputs", []):
            where = f"{name} cell {i}"
            data = o.get("data", {})
            if "text/html" in data:
                out += scan_html(_joined(data["text/html"]), where, ids, min_cell)
                continue
            text = _joined(data.get("text/plain", "")) if data else _joined(o.get("text", ""))
            if o.get("output_type") == "error":
                text = "\n".join(o.get("traceback", []))
            if text:
                for rows in _text_tables(text):
                    out += _scan_table(rows, where, ids, min_cell)
                out += _scan_text(text, where, ids)
    return _unique(out)


def scan_site(folder: str | Path, ids: frozenset[str] = frozenset(), min_cell: int = MIN_CELL) -> list[Finding]:
    """Findings in every HTML, CSV and notebook file of a rendered site (the book offers notebooks to download)."""
    folder = Path(folder)
    ids = distinctive_ids(frozenset(ids))
    out: list[Finding] = []
    for p in sorted(folder.rglob("*.html")):
        out += scan_html(p.read_text(errors="replace"), str(p.relative_to(folder)), ids, min_cell)
    for p in sorted(folder.rglob("*.csv")):
        import csv

        with open(p, newline="") as fh:
            rows = list(csv.reader(fh))
        out += _scan_table(rows, str(p.relative_to(folder)), ids, min_cell)
    for p in sorted(folder.rglob("*.ipynb")):
        out += scan_notebook(p, ids, min_cell)
    return _unique(out)


def _joined(x) -> str:
    return "".join(x) if isinstance(x, list) else str(x)


def _unique(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


def suppress_small(df, columns=None, min_cell: int = MIN_CELL):
    """A copy of a table of counts with every count in ``1 .. min_cell - 1`` replaced by ``"<min_cell"``.

    ``columns`` defaults to every integer column. Use it on any table of people before displaying it.
    """
    import pandas as pd

    out = df.copy()
    cols = columns if columns is not None else [c for c in out.columns if pd.api.types.is_integer_dtype(out[c])]
    for c in cols:
        small = out[c].between(1, min_cell - 1)
        if small.any():
            out[c] = out[c].astype(object)
            out.loc[small, c] = f"<{min_cell}"
    return out


def suppressed_categories(counts, min_cell: int = MIN_CELL):
    """Which categories of a breakdown (counts summing to a shown total) to suppress: every count under
    ``min_cell``, then the smallest others until the suppressed cells add up to ``min_cell`` or more and number at
    least two, so no suppressed count can be recovered by subtracting the shown ones from the total (secondary
    suppression). Returns a boolean Series."""
    sup = (counts > 0) & (counts < min_cell)
    if not sup.any():
        return sup
    for k in counts[~sup].sort_values().index:
        if sup.sum() >= 2 and counts[sup].sum() >= min_cell:
            break
        sup[k] = True
    return sup


def suppress_flow(flow, identities, min_cell: int = MIN_CELL, keep_visible=()):
    """A flow table (one row per group, columns of counts) for display, with small counts suppressed so that none
    can be recovered from the others.

    Every count in ``1 .. min_cell - 1`` reads ``"<min_cell"``; then for each identity ``total = a + b`` (column
    names) of a row in which exactly one term is hidden, another term is hidden too (``"suppressed"``): the smallest
    of the others, sparing ``keep_visible`` where it can. Returns ``flow`` itself when nothing is small.
    """
    import pandas as pd

    hide = pd.DataFrame(False, index=flow.index, columns=flow.columns)
    cols = [c for c in flow.columns if pd.api.types.is_integer_dtype(flow[c])]
    for c in cols:
        hide[c] = flow[c].between(1, min_cell - 1)
    if not hide.to_numpy().any():
        return flow
    small = hide.copy()
    changed = True
    while changed:
        changed = False
        for r in flow.index:
            for total, a, b in identities:
                terms = [total, a, b]
                if sum(bool(hide.loc[r, t]) for t in terms) == 1:
                    others = [t for t in terms if not hide.loc[r, t]]
                    spare = [t for t in others if t not in keep_visible] or others
                    hide.loc[r, min(spare, key=lambda t: flow.loc[r, t])] = True
                    changed = True
    out = flow.astype(object).copy()
    for c in cols:
        for r in flow.index:
            if hide.loc[r, c]:
                out.loc[r, c] = f"<{min_cell}" if small.loc[r, c] else "suppressed"
    return out
