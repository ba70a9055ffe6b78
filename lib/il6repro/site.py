"""Build the book: the paper, the executed notebooks, the ledger and the run's chapters, with Sphinx.

``python -m il6repro site`` renders ``build/book/html/`` with Sphinx + MyST-NB (execution off: the runner is the one
place that executes) + sphinx-book-theme + sphinxcontrib-bibtex, all offline:

1. :func:`prepare_source` syncs the build-time source folder ``build/book/src``: the book's own sources
   (``book/``: ``conf.py``, ``paper.md``, ``references.bib``, chapter pages, ``teaching/``), the runner's executed
   notebooks (``build/notebooks/``, copied, never executed again), the figures their receipts list, the sweep's
   summary, the student notebooks (``build/teaching/``) and a snapshot of the run, ``_run/run.json``
   (:func:`run_snapshot`: the ledger with each claim's cell, receipts, methods paragraphs, figure provenance,
   datasets). Unchanged files keep their timestamps, so Sphinx re-reads only what changed.
2. Sphinx builds into a temporary folder; the extension :mod:`il6repro.book` puts the run's numbers on the pages.
3. Headless Chromium prints the paper page to ``paper.pdf`` (:func:`il6repro.sitecheck.print_pdf`).
4. The result is scanned for individual-level data (:mod:`il6repro.governance`); a finding stops the build and
   leaves the previous book in place. Otherwise the new folder replaces the old one.

The book is rebuilt only when its inputs changed.

Two editions are built from the same run (``edition``): ``"full"`` (``build/book/html``), whose teaching chapters are
the instructor versions of the course units, and ``"students"`` (``build/book-students/html``, ``site --students``),
the course site for students: the paper, ledger and study chapters, and the student notebooks to download, with no
instructor version, instructor page, solution or hidden check anywhere in its pages or its search index.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._paths import build_dir, figures_dir, repo_root

RULE_TEXT = {
    "exact": "exact",
    "abs_tol": "|Δ| ≤ {tol}",
    "round_sig": "rounds to it at {sig} s.f.",
    "z_window": "same sign, |Δz| ≤ {tol}",
    "log10_window": "|Δ log10 P| ≤ {tol}",
    "within_ci": "inside the published CI",
    "not_significant": "smallest P ≥ {threshold}",
    "p_below": "{symbol} < {threshold}",
    "sign": "same sign, CI excludes 0",
}


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_PRINTED = re.compile(r"(\d[\d,]*(?:\.\d+)?)(\s*[x×]\s*10\^?\s*([-−]?\d+))?")


# what the data page's extract layouts are read from (twins.ukb.layout, twins.whitehall.layout)
LAYOUT_FILES = ("ukb/columns.yaml", "ukb/idps.csv", "ukb/instruments.csv", "whitehall/layout.yaml")
# the README, copied into the book's source so that pages include its sections ({include} between markers)
README_COPY = "_include/README.md"

RECORD_FIELDS = {"value", "ci", "kind", "note", "cell", "notebook", "extra"}  # what ledger.compare() already shows


class SiteError(RuntimeError):
    """Sphinx failed to build the book."""


def book_dir() -> Path:
    """The book's sources in the repository (``book/``)."""
    return repo_root() / "book"


#: The book's editions (module docstring): the full book, and the course site for students.
EDITIONS = ("full", "students")

#: In ``book/``, the pages one edition puts in place of the full book's (``_edition/students/teaching.md``).
EDITION_DIR = "_edition"


def _check_edition(edition: str) -> str:
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(EDITIONS)}, not {edition!r}")
    return edition


def work_dir(edition: str = "full") -> Path:
    """An edition's build folder: its Sphinx source, doctrees, published ``html/`` and browser check."""
    return build_dir() / ("book" if _check_edition(edition) == "full" else "book-students")


def site_dir(edition: str = "full") -> Path:
    """Where the published book lives (``build/book/html``; the students' edition ``build/book-students/html``)."""
    return work_dir(edition) / "html"


# ------------------------------------------------------------------------------------------------ snapshot
def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def _records(df) -> list[dict]:
    return [{k: _clean(v) for k, v in row.items()} for row in df.astype(object).to_dict("records")]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def notebook_title(nb: dict) -> str:
    """The first markdown heading of a notebook (its chapter title); ``nb`` is the notebook's JSON."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+)$", _source(cell), re.M)
            if m:
                return m.group(1).strip()
    return ""


def find_cell(nb: dict, claim_id: str) -> int | None:
    """Execution count of the first code cell whose source names ``claim_id`` (for records made before cells
    were recorded, or by a claim id written out in full)."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and claim_id in _source(cell) and cell.get("execution_count"):
            return int(cell["execution_count"])
    return None


def rule_text(rule: dict) -> str:
    """A claim's rule for a reader: ``same sign, |Δz| ≤ 2``."""
    fmt = RULE_TEXT.get(rule.get("kind", ""), rule.get("kind", ""))
    try:
        params = {"symbol": "P", **rule}  # p_below's symbol: P unless the claim says (an FDR q)
        if isinstance(params.get("threshold"), (int, float)):  # as the page writes numbers: 1.1 × 10⁻⁴, 0.05
            params["threshold"] = fmt_number(params["threshold"])
        return fmt.format(**params)
    except (KeyError, ValueError):
        return rule.get("kind", "")


def printed_style(value: float, source: str) -> tuple[str, int, bool] | None:
    """How the abstract printed ``value`` in ``source``: ("fixed", decimals, thousands commas) or ("sci",
    mantissa decimals, False); ``None`` when the sentence has no such number (e.g. a claim stated in words)."""
    for m in _PRINTED.finditer(source):
        mant = m.group(1).replace(",", "")
        dec = len(mant.split(".")[1]) if "." in mant else 0
        try:
            v = float(mant) * (10 ** int(m.group(3).replace("−", "-")) if m.group(2) else 1)
        except ValueError:
            continue
        if math.isclose(v, abs(value), rel_tol=1e-9):
            return ("sci", dec, False) if m.group(2) else ("fixed", dec, "," in m.group(1))
    return None


def fmt_number(x, style: tuple[str, int, bool] | None = None) -> str:
    """A number for a reader: in the abstract's own style when known (``4.70``, ``8.39 × 10⁻⁹``, ``20,688``; a
    whole number of 1,000 or more always thousands separated), else three significant figures (scientific below 0.001); a dash when missing."""
    if x is None:
        return "—"
    v = float(x)
    if not math.isfinite(v):
        return str(x)
    if style and style[0] == "fixed":
        # the abstract's decimals; a whole number of 1,000 or more is thousands separated even where the abstract
        # printed it bare ("2419 GHQ-cases" -> 2,419), as every count in this book is
        commas = style[2] or (style[1] == 0 and v == int(v) and abs(v) >= 1000)
        return f"{v:,.{style[1]}f}" if commas else f"{v:.{style[1]}f}"
    if (style and style[0] == "sci") or (v != 0 and abs(v) < 1e-3):
        mant, exp = f"{v:.{style[1] if style else 2}e}".split("e")
        if not style and "." in mant:
            mant = mant.rstrip("0").rstrip(".")
        return f"{mant} × 10{str(int(exp)).translate(SUPERSCRIPT)}"
    if v == int(v) and abs(v) >= 1000:
        return f"{int(v):,}"
    return f"{v:.3g}"


def fmt_ci(pair, style=None) -> str:
    """`` (1.06–1.25)``; `` (-0.31 to -0.10)`` when a bound is negative; empty without an interval."""
    if not pair:
        return ""
    lo, hi = fmt_number(pair[0], style), fmt_number(pair[1], style)
    return f" ({lo} to {hi})" if min(pair) < 0 else f" ({lo}–{hi})"


def claim_display(claim, rec: dict) -> tuple[str, str]:
    """(published, reproduced) as the book prints them: a value the abstract printed keeps the abstract's
    precision, and the reproduced value is shown in the same style; a claim the abstract states in words shows the
    rule's threshold (``< 0.05``, ``none below 1.1 × 10⁻⁴``) or the expected sign."""
    kind = claim.rule.get("kind")
    style = printed_style(claim.value, claim.source)
    if claim.published_as:
        published = claim.published_as
    elif kind == "p_below":
        published = f"< {fmt_number(claim.rule['threshold'])}"
    elif kind == "not_significant":
        published = f"none below {fmt_number(claim.rule['threshold'])}"
    elif kind == "sign":
        published = "negative" if claim.value < 0 else "positive"
    else:
        published = fmt_number(claim.value, style) + fmt_ci(claim.ci, style)
    if rec and rec.get("withheld"):
        return published, "withheld"
    if not rec or rec.get("value") is None:
        return published, "—"
    value = rec["value"] if not isinstance(rec["value"], str) else float(rec["value"])
    ci = rec.get("ci") if (claim.ci or kind == "sign") else None
    rstyle = style if kind not in ("sign", "not_significant", "p_below") else None
    if kind == "round_sig" and rstyle and rstyle[0] == "sci":
        # a number judged by its rounding shows one figure more than the paper printed (1.1 × 10⁻⁴ → 4.88 × 10⁻⁵,
        # as the tables write it), so the rounding the rule applies is visible rather than already done
        rstyle = ("sci", rstyle[1] + 1, rstyle[2])
    return published, fmt_number(value, rstyle) + fmt_ci(ci, rstyle)


def ledger_rows(notebooks: dict, receipts: dict[str, dict]) -> tuple[list[str], list[dict]]:
    """The ledger as the book shows it: every column of :func:`il6repro.ledger.compare` plus the display status
    (``not checked: 06 ran without ...`` for a claim whose notebook ran without its dataset), the reason a claim
    is accepted as not reproduced, the rule in words, CIs as pairs, the notebook cell that recorded it, and any
    further field of the record (returned among the columns, after compare()'s)."""
    from .data import default_catalog
    from .ledger import (
        NOT_ATTEMPTED,
        NOT_REPRODUCED,
        LedgerError,
        compare,
        load_baseline,
        load_claims,
        load_results,
    )

    claims = load_claims()
    results = load_results()
    table = compare(results, claims)
    try:
        accepted = {k: v.get("why", "") for k, v in load_baseline().items() if v["status"] == NOT_REPRODUCED}
    except LedgerError:
        accepted = {}
    titles = {m.id: m.title.split(" (")[0] for m in default_catalog().manifests.values()}
    by_number = {stem.split("_", 1)[0]: stem for stem in receipts}
    rows, extra_columns = [], []
    for row in _records(table):
        cid = row["claim"]
        claim, rec = claims[cid], results.get(cid, {})
        nb_stem = rec.get("notebook") or by_number.get(str(claim.notebook))
        nb_stem = nb_stem if nb_stem in receipts else by_number.get(str(nb_stem).split("_", 1)[0])
        status, reason = row["status"], row["reason"]
        missing = receipts.get(nb_stem, {}).get("datasets_unavailable") if nb_stem else None
        if status == NOT_ATTEMPTED and missing:
            status = "not checked"
            reason = (f"not checked: {nb_stem.split('_', 1)[0]} ran without "
                      f"{', '.join(titles.get(d, d) for d in sorted(missing))}")
        shown = claim_display(claim, rec)
        cell = rec.get("cell")
        if cell is None and nb_stem in notebooks and rec:
            cell = find_cell(notebooks[nb_stem], cid)
        row.update(
            display_status=status, display_reason=reason,
            accepted_because=accepted.get(cid, "") if row["status"] == NOT_REPRODUCED else "",
            anchor="claim-" + re.sub(r"[^a-z0-9]+", "-", cid.lower()).strip("-"),
            rule_text=rule_text(claim.rule), rule_params=dict(claim.rule),
            published_display=shown[0], reproduced_display=shown[1],
            # a twin claim judged over seeds: the median it was judged on, in the same style as this draw's number
            seeds_display=(claim_display(claim, {"value": row["seeds_median"]})[1]
                           if row.get("seeds_median") is not None else None),
            # a draw outside the seeds' central 95% is atypical of the twin: said beside it, with that range
            seeds_range_display=(f"{claim_display(claim, {'value': row['seeds_q025']})[1]}"
                                 f"{' to ' if min(row['seeds_q025'], row['seeds_q975']) < 0 else '–'}"  # -0.31 to -0.11
                                 f"{claim_display(claim, {'value': row['seeds_q975']})[1]}"
                                 if row.get("seeds_q025") is not None and row.get("seeds_q975") is not None
                                 else None),
            draw_atypical=bool(row.get("seeds_q025") is not None and rec.get("value") is not None
                               and not row["seeds_q025"] <= float(rec["value"]) <= row["seeds_q975"]),
            published_ci_pair=list(claim.ci) if claim.ci else None, reproduced_ci_pair=rec.get("ci"),
            cell_notebook=nb_stem if nb_stem in notebooks else None, cell=cell)
        # whatever else a notebook recorded (fields added to ledger.record, its ``extra`` dict) is shown too
        fields = {k: v for k, v in rec.items() if k not in RECORD_FIELDS}
        fields.update(rec.get("extra") or {})
        for k, v in fields.items():
            if k not in row:
                row[k] = v
                if k not in extra_columns:
                    extra_columns.append(k)
        rows.append(row)
    return list(table.columns) + extra_columns, rows


def run_snapshot(bdir: Path, receipts: dict[str, dict], notebooks: dict) -> dict:
    """Everything the book's pages show from the run, as one JSON-able dict (see :mod:`il6repro.book`)."""
    from .data import default_catalog
    from .figures import read_provenance
    from .ledger import consistency_checks

    nbs, figures, methods = [], [], {}
    for stem, rec in receipts.items():
        if stem not in notebooks:
            continue
        t = rec.get("timing", {})
        nbs.append({"stem": stem, "title": notebook_title(notebooks[stem]), "teaching": "teaching" in stem,
                    "profile": rec.get("profile", ""), "parameters": rec.get("parameters", {}),
                    "commit": rec.get("git_commit", ""), "wall_seconds": t.get("wall_seconds"),
                    "peak_rss_mb": t.get("peak_rss_mb"),
                    "datasets": {**{k: v.get("source", "") for k, v in rec.get("datasets", {}).items()},
                                 **{f"{k} cohort": _cohort_label(v) for k, v in (rec.get("cohorts") or {}).items()}},
                    "unavailable": rec.get("datasets_unavailable", {})})
        mfile = bdir / "results" / f"{stem}.methods.md"
        if mfile.is_file():
            methods[stem] = mfile.read_text()
        for name in sorted(rec.get("figures", {})):
            path = figures_dir() / name
            if name.endswith(".png") and path.is_file():
                try:
                    prov = read_provenance(path)
                except ValueError:
                    prov = {}
                svg = path.with_suffix(".svg")
                figures.append({"name": name, "notebook": stem, "provenance": prov,
                                "svg": svg.name if svg.is_file() else None})
    columns, rows = ledger_rows(notebooks, receipts)
    con = consistency_checks()
    sweep = None
    sdir = bdir / "sweep"
    if (sdir / "summary.csv").is_file():
        import pandas as pd

        df = pd.read_csv(sdir / "summary.csv", keep_default_na=False)
        meta = json.loads((sdir / "summary.json").read_text()) if (sdir / "summary.json").is_file() else {}
        sweep = {"columns": [str(c) for c in df.columns], "rows": _records(df), "meta": meta,
                 "figure": "sweep_summary.png" if (sdir / "summary.png").is_file() else None,
                 "points": "_run/sweep_points.csv" if (sdir / "points.csv").is_file() else None}
    # only what students may have: the student versions (the autograder's hidden checks and the instructor
    # versions stay in build/teaching/; the book's teaching chapters are the instructor versions themselves)
    sfolder = bdir / "teaching" / "student"
    student = sorted(str(p.relative_to(bdir / "teaching")) for p in sfolder.rglob("*")
                     if p.is_file() and ".ipynb_checkpoints" not in p.parts) if sfolder.is_dir() else []
    datasets = [{"id": m.id, "title": m.title, "kind": m.kind, "licence": m.licence, "citation": m.citation}
                for m in sorted(default_catalog().manifests.values(), key=lambda m: m.id)]
    from .twins import ukb, whitehall

    # the layouts a reader's own extract must follow (file and column names, no data), for the data page
    layouts = {name: {"columns": [str(c) for c in df.columns], "rows": _records(df)}
               for name, df in (("ukb", ukb.layout()), ("whitehall", whitehall.layout()))}
    return {"notebooks": nbs, "ledger": {"columns": columns, "rows": rows}, "layouts": layouts,
            "consistency": {"columns": [str(c) for c in con.columns], "rows": _records(con)},
            "methods": methods, "figures": figures, "sweep": sweep,
            "student_files": [f"_student/{s}" for s in student], "datasets": datasets, "pdf": "paper.pdf"}


# ------------------------------------------------------------------------------------------------ source folder
def _sync(dest: Path, files: dict[str, bytes | Path]) -> None:
    """Make ``dest`` hold exactly ``files`` (relative path -> bytes or a file to copy); unchanged files are not
    rewritten, so their timestamps (and Sphinx's cache of them) survive."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = dest / rel
        data = content.read_bytes() if isinstance(content, Path) else content
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    wanted = {dest / rel for rel in files}
    for p in sorted(dest.rglob("*"), reverse=True):
        if p.is_file() and p not in wanted:
            p.unlink()
        elif p.is_dir() and not any(p.iterdir()):
            p.rmdir()


def _cohort_label(info: dict) -> str:
    """Which individual-level data a notebook analysed (receipt ``cohorts``), for the receipts page."""
    src = str(info.get("source", "?"))
    label = "real extract" if src == "extract" else f"synthetic {src}"
    sha = next(iter((info.get("sha256") or {}).values()), "")
    return label + (f", sha256 {sha[:12]}" if sha else "") + (f", via {info['via']}" if info.get("via") else "")


def _receipts(bdir: Path, edition: str = "full") -> dict[str, dict]:
    """The run's receipts by notebook; the students' edition leaves out the teaching notebooks (instructor
    versions)."""
    from .ledger import LedgerError, _read_build_json, _rerun

    out = {}
    for p in sorted((bdir / "receipts").glob("*.json")):
        try:
            rec = _read_build_json(p, "run receipt", _rerun(p))
        except LedgerError as exc:
            raise SiteError(str(exc)) from None
        stem = rec.get("notebook", p.stem)
        if edition == "students" and "teaching" in stem:
            continue
        out[stem] = rec
    return out


#: Said at the top of every teaching chapter of the book, below its title: a student who lands on one sees at once
#: that it holds the answers, and where the student version is.
INSTRUCTOR_BANNER = """```{admonition} Instructor version
:class: warning
This chapter is the **instructor version** of the unit: it shows the solutions, the hidden checks the grader runs
and the answers to the discussion questions. Students work from the student version (scaffolds and public checks
only), downloadable from {doc}`Student notebooks </teaching>`. Comment lines such as `# BEGIN SOLUTION` are
otter-grader's markers, from which `python -m il6repro teach` writes the student version. A book built with these
chapters is for instructors; the course site for students is `python -m il6repro site --students`
(`build/book-students/html`), which leaves these chapters and the instructor page out.
```"""


def _without_raw_cells(path: Path) -> bytes:
    """A teaching notebook for the book: otter's raw delimiter cells (``# BEGIN QUESTION`` ...) left out; the
    solution and check cells stay, marked by their tags (``tag_solution``, ``tag_check``, ``tag_hidden``), and
    :data:`INSTRUCTOR_BANNER` follows the first markdown cell (the title)."""
    nb = json.loads(path.read_text())
    cells = [c for c in nb["cells"] if c.get("cell_type") != "raw"]
    at = next((i + 1 for i, c in enumerate(cells) if c.get("cell_type") == "markdown"), 0)
    cells.insert(at, {"cell_type": "markdown", "id": "instructor-version", "metadata": {},
                      "source": INSTRUCTOR_BANNER})
    nb["cells"] = cells
    return json.dumps(nb, indent=1, sort_keys=True).encode()


def prepare_source(src: Path | None = None, edition: str = "full") -> dict:
    """Sync the build-time source folder (module docstring, step 1) of an edition; return the run snapshot."""
    bdir = build_dir()
    src = Path(src) if src else work_dir(edition) / "src"
    receipts = _receipts(bdir, _check_edition(edition))
    files: dict[str, bytes | Path] = {}
    for p in sorted(book_dir().rglob("*")):
        rel = p.relative_to(book_dir())
        if not p.is_file() or "__pycache__" in p.parts or rel.parts[0] == EDITION_DIR:
            continue
        if edition == "students" and rel.parts[0] == "teaching":  # the instructor page and its answers
            continue
        files[str(rel)] = p
    overlay = book_dir() / EDITION_DIR / edition  # this edition's own versions of pages
    for p in sorted(overlay.rglob("*")) if overlay.is_dir() else []:
        if p.is_file():
            files[str(p.relative_to(overlay))] = p
    files[README_COPY] = repo_root() / "README.md"
    notebooks = {}
    for stem in receipts:
        path = bdir / "notebooks" / f"{stem}.ipynb"
        if path.is_file():
            notebooks[stem] = json.loads(path.read_text())
            files[f"notebooks/{stem}.ipynb"] = path if "teaching" not in stem else _without_raw_cells(path)
    snap = run_snapshot(bdir, receipts, notebooks)
    for fig in snap["figures"]:
        files[f"figures/{fig['name']}"] = figures_dir() / fig["name"]
        if fig["svg"]:
            files[f"figures/{fig['svg']}"] = figures_dir() / fig["svg"]
    sdir = bdir / "sweep"
    if snap["sweep"] and snap["sweep"]["figure"]:
        files["figures/sweep_summary.png"] = sdir / "summary.png"
    if snap["sweep"] and snap["sweep"]["points"]:
        files["_run/sweep_points.csv"] = sdir / "points.csv"
    for rel in snap["student_files"]:
        files[rel] = bdir / "teaching" / rel.split("/", 1)[1]
    import pandas as pd

    led = pd.DataFrame(snap["ledger"]["rows"])
    keep = [c for c in snap["ledger"]["columns"] + ["display_status", "display_reason", "accepted_because", "cell",
                                                     "published_display", "reproduced_display"]
            if c in led.columns]
    out = led[keep].copy()
    if "cell" in out:  # a cell number, not 5.0
        out["cell"] = pd.to_numeric(out["cell"], errors="coerce").astype("Int64")
    # the status and reason the page shows ("not checked" where a notebook ran without the dataset) under the plain
    # names; compare()'s own (what `python -m il6repro ledger` prints: "not yet attempted") beside them
    out = out.rename(columns={"status": "ledger_status", "reason": "ledger_reason"}).rename(
        columns={"display_status": "status", "display_reason": "reason"})
    # numbers as the page reads them (20688, 200, not 20688.0); published_display says what a number means where it
    # is a code ("negative" for a direction-only claim stored as -1)
    files["_run/ledger.csv"] = out.to_csv(index=False, float_format="%.12g").encode() if len(led) else b""
    files["_run/run.json"] = json.dumps(snap, indent=1, sort_keys=True, default=str).encode()
    _sync(src, files)
    return snap


# ------------------------------------------------------------------------------------------------ build
def _inputs_digest(bdir: Path, edition: str = "full") -> str:
    h = hashlib.sha256(edition.encode())
    files = sorted((bdir / "receipts").glob("*.json")) + sorted((bdir / "notebooks").glob("*.ipynb")) + \
        sorted((bdir / "results").glob("*.json")) + sorted((bdir / "results").glob("*.methods.md")) + \
        sorted((bdir / "sweep").glob("summary*")) + sorted(p for p in book_dir().rglob("*") if p.is_file()) + \
        sorted(p for p in (bdir / "teaching").rglob("*") if p.is_file()) + \
        [Path(__file__).with_name(m) for m in ("site.py", "book.py", "sitecheck.py", "ledger.py", "report.py")] + \
        [repo_root() / "data_manifest" / "ledger_baseline.yaml", repo_root() / "data_manifest" / "published_claims.yaml"] + \
        [repo_root() / "data_manifest" / f for f in LAYOUT_FILES] + [repo_root() / "README.md"]
    for p in files:
        if p.is_file() and "__pycache__" not in p.parts:
            h.update(str(p).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def sphinx_build(src: Path, out: Path, doctrees: Path, log=print) -> list[str]:
    """Run Sphinx (HTML builder) in a child process; return its warnings; raise :class:`SiteError` on failure."""
    warnings = doctrees.parent / "sphinx-warnings.txt"
    # Sphinx keeps a doctree built under another conf.py when the changed setting is not one it rebuilds for (the
    # references stayed in citation order after conf.py asked for them sorted by author): start afresh instead
    conf = hashlib.sha256((src / "conf.py").read_bytes()).hexdigest() if (src / "conf.py").is_file() else ""
    stamp = doctrees / ".conf.sha256"
    if doctrees.is_dir() and (not stamp.is_file() or stamp.read_text() != conf):
        shutil.rmtree(doctrees)
    doctrees.mkdir(parents=True, exist_ok=True)
    stamp.write_text(conf)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d", str(doctrees), "-w", str(warnings),
           str(src), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    lines = [ln for ln in (warnings.read_text().splitlines() if warnings.is_file() else []) if ln.strip()]
    if proc.returncode != 0:
        raise SiteError(f"sphinx-build failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-3000:]}")
    return lines


RAW_OUTPUT = ("PosixPath(", "{'png':", " object at 0x", "0.000000")
# pandas' own HTML table (raw index, unformatted numbers, identifiers as headers): a notebook shows its tables
# through il6repro.report.table, whose Styler HTML has no such class
RAW_TABLE = 'class="dataframe"'


def notebook_pages_missing_figures(html_dir: Path, receipts: dict[str, dict]) -> list[str]:
    """What a reader would miss: for each notebook page, every PNG its notebook saved (by the receipt's sha256)
    must be among the page's images, and no output may print a path, a dict of paths, an object address or a P of
    0.000000, nor show pandas' own HTML table instead of :func:`il6repro.report.table`'s. Returns one line per problem (empty when every page is whole)."""
    problems = []
    for stem, rec in sorted(receipts.items()):
        page = html_dir / "notebooks" / f"{stem}.html"
        if not page.is_file():
            continue
        text = page.read_text()
        shown = set()
        for src in re.findall(r'<img[^>]+src="([^"]+)"', text):
            img = (page.parent / src).resolve()
            if img.is_file() and img.suffix == ".png":
                shown.add(hashlib.sha256(img.read_bytes()).hexdigest())
        missing = sorted(n for n, sha in rec.get("figures", {}).items() if n.endswith(".png") and sha not in shown)
        if missing:
            problems.append(f"{stem}: {len(missing)} figure(s) not shown: {', '.join(missing)}")
        raw = [r for r in RAW_OUTPUT if r in text]
        if raw:
            problems.append(f"{stem}: raw output on the page ({', '.join(map(repr, raw))})")
        if RAW_TABLE in text:
            problems.append(f"{stem}: {text.count(RAW_TABLE)} pandas table(s) not formatted by report.table")
    return problems


def build_site(out: Path | None = None, *, force: bool = False, pdf: bool = True, edition: str = "full",
               log=print) -> Path:
    """Build the book into ``out`` (default: the edition's ``html/``, :func:`site_dir`); skip when nothing changed.

    Parameters
    ----------
    out : path, optional
        The published folder; replaced only by a complete, scanned build.
    force : bool
        Rebuild even if the inputs are unchanged.
    pdf : bool
        Print ``paper.pdf`` with headless Chromium (skipped with a note when no browser is installed).
    edition : {"full", "students"}
        The full book (teaching chapters as instructor versions) or the course site for students (module docstring).
    """
    from .governance import GovernanceError, load_ids, scan_site

    bdir = build_dir()
    out = Path(out) if out else site_dir(_check_edition(edition))
    digest = _inputs_digest(bdir, edition)
    stamp = out / ".inputs.sha256"
    # a book built with --no-pdf is not up to date for a build that prints the paper (its PDF link would be broken)
    if not force and stamp.is_file() and stamp.read_text() == digest and (not pdf or (out / "paper.pdf").is_file()):
        log(f"site: up to date ({out})")
        return out
    from .ledger import mixed_sources

    mixed = mixed_sources(bdir / "receipts")
    if mixed:  # e.g. 01 on a real extract beside 02 still on the twin after a partly failed run
        raise SiteError(f"{mixed[0]}; the previous book is kept")
    # the site of an empty build passed every check, without chapters, figures or notebooks to download (a build
    # holding only a sweep's summary has its page to show)
    if not _receipts(bdir, edition) and (edition == "students" or not (bdir / "sweep" / "summary.csv").is_file()):
        raise SiteError(f"no executed notebook in {bdir / 'receipts'}: run `python -m il6repro run` first" +
                        (", then `python -m il6repro teach`" if edition == "students" else ""))
    if edition == "students" and not any((bdir / "teaching" / "student").glob("*.ipynb")):
        raise SiteError(f"no student notebooks in {bdir / 'teaching' / 'student'}: run `python -m il6repro teach` "
                        "first (after `python -m il6repro run`)")
    work = work_dir(edition)
    snap = prepare_source(work / "src", edition)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".html-", dir=out.parent))
    try:
        warnings = sphinx_build(work / "src", tmp, work / "doctrees", log=log)
        for w in warnings[:20]:
            log(f"site: sphinx warning: {w}")
        if pdf:
            from .sitecheck import BrowserUnavailable, print_pdf

            try:
                print_pdf(tmp / "paper.html", tmp / snap["pdf"])
            except BrowserUnavailable as exc:
                log(f"site: paper PDF not printed ({exc})")
        # individual-level data first: a page that leaks is refused as a leak, whatever else is wrong with it
        findings = scan_site(tmp, load_ids(sorted((bdir / "governance").glob("*.ids"))))
        if findings:
            raise GovernanceError(f"the rendered book holds individual-level data ({len(findings)} finding(s)); the "
                                  "previous book is kept: " + "; ".join(map(str, findings[:10])))
        unshown = notebook_pages_missing_figures(tmp, _receipts(bdir, edition))
        if unshown:
            raise SiteError("notebook pages do not show the figures their notebooks saved, or show raw output (the "
                            "previous book is kept): " + "; ".join(unshown[:10]))
        (tmp / ".inputs.sha256").write_text(digest)
        tmp.chmod(0o755)
        if out.exists():
            old = out.with_name(out.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log(f"site: {len(snap['notebooks'])} notebook(s), {len(snap['figures'])} figure(s), "
        f"{len(warnings)} sphinx warning(s) -> {out / 'index.html'}")
    return out
