"""Sphinx extension of the il6repro book: roles and directives that put the run's numbers on the page.

The book's sources (``book/``) are MyST pages; the numbers in them are never typed. ``il6repro.site`` writes a
snapshot of the run into the build-time source folder (``_run/run.json``: the ledger, receipts, methods paragraphs,
figure provenance, sweep summary, student files, datasets) and this extension reads it while Sphinx builds:

``{claim}`ID```
    one published number inline as *published -> reproduced* with its ledger status, linked to its ledger row and
    to the notebook cell that recorded it.
``{ledger-table}``, ``{ledger-summary}``, ``{ledger-consistency}``
    the ledger (one row per claim, filterable by study and status, details on click), the count per status, and
    the consistency checks of the published statistics.
``{run-figure} NAME``
    a numbered, captioned figure made by the run (``:name:`` for ``{numref}``), linked to its notebook.
``{run-methods} NN [NN ...]``
    the methods paragraphs the named notebooks wrote from their own run.
``{run-gallery}``, ``{run-receipts}``, ``{run-sweep}``, ``{student-downloads}``, ``{dataset-citations}``,
``{extract-layout} ukb|whitehall``,
``{notebook-toctree} study|teaching``, ``{paper-pdf}``
    the chapters built from the run (figure gallery, receipts, what-if sweep, student notebooks, data sources with
    their references.bib entries, the layouts of a reader's own extracts, notebook tables of contents, the
    printed paper).

Everything is built from docutils nodes (or MyST text parsed by MyST), so the theme renders it; no HTML is written
here except the math renderer, which shows TeX source instead of loading MathJax from a CDN.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .report import arrows, counted, fmt_share

logger = logging.getLogger(__name__)

RUN_FILE = "_run/run.json"
DATA_SENTENCE = "Data resolved by the data layer: "  # how il6repro.methods.datasets_sentence begins

STATUS_CLASS = {
    "reproduced on real data": "st-real",
    "recovered from a planted twin": "st-twin",
    "set by design (twin input)": "st-design",
    "not reproduced": "st-fail",
    "not yet attempted": "st-todo",
    "not checked": "st-skip",
    "reproduced on real public data (OpenGWAS ubm-b, N ~ 32k, overlapping but not equal to the paper's sample)":
        "st-public",
    "recorded fixture (test responses, not evidence)": "st-fixture",
}
# a row's details: readable names for ledger.compare()'s own columns; internal ones (the twin setup a distribution
# is paired by, the power's CI bound already in the verdict) left to the CSV
DETAIL_LABELS = {"value_verdict": "number meets its rule", "over_seeds": "over twin seeds",
                 "power": "twin's power for the conclusion"}
DETAIL_HIDDEN = {"setup", "power_low", "seeds_median", "n_seeds", "seeds_display", "seeds_q025", "seeds_q975",
                 "seeds_range_display", "draw_atypical"}
# columns of ledger.compare() the table places itself; any other column is shown among a row's details
LEDGER_PLACED = {"claim", "study", "quantity", "published", "published_ci", "reproduced", "reproduced_ci", "rule",
                 "status", "reason", "display_status", "display_reason", "source", "note", "kind", "notebook",
                 "cell", "cell_notebook", "rule_text", "accepted_because", "anchor", "published_ci_pair",
                 "reproduced_ci_pair", "rule_params", "published_display",
                 "reproduced_display", "conclusion", "conclusion_verdict"}


# ------------------------------------------------------------------------------------------- the run's data
def run_data(env) -> dict[str, Any]:
    """The run snapshot (``_run/run.json`` in the source folder), read once per build; pages that use it depend
    on it, so a new run rebuilds them."""
    app = env.app
    cached = getattr(app, "_il6repro_run", None)
    if cached is None:
        path = Path(env.srcdir) / RUN_FILE
        cached = json.loads(path.read_text()) if path.is_file() else {}
        cached.setdefault("ledger", {"rows": []})
        cached["_claims"] = {r["claim"]: r for r in cached["ledger"]["rows"]}
        app._il6repro_run = cached
    env.note_dependency(str(Path(env.srcdir) / RUN_FILE))
    return cached


def _relative(env, target_doc: str, anchor: str = "") -> str:
    uri = env.app.builder.get_relative_uri(env.docname, target_doc)
    return uri + (f"#{anchor}" if anchor else "")


def _ref(text: str, refuri: str, classes: list[str] | None = None) -> nodes.reference:
    return nodes.reference("", text, refuri=refuri, internal=True, classes=classes or [])


def _cell_link(env, row: dict) -> nodes.Node | None:
    stem = row.get("cell_notebook")
    if not stem:
        return None
    cell = row.get("cell")
    label = f"{stem.split('_', 1)[0]}, cell {cell}" if cell else f"notebook {stem.split('_', 1)[0]}"
    return _ref(label, _relative(env, f"notebooks/{stem}", f"cell-{cell}" if cell else ""), ["claim-cell"])


def short_commit(commit) -> str:
    """A receipt's commit as the page shows it: 12 hex digits, and ``+dirty`` kept when the run's checkout had
    uncommitted changes (so a reader does not check out that commit expecting the code that ran)."""
    sha, plus, rest = str(commit or "").partition("+")
    return sha[:12] + plus + rest


def published_text(row: dict) -> str:
    return row.get("published_display") or str(row.get("published"))


def seeds_text(row: dict) -> str:
    """For a twin claim judged over seeds, the median it was judged on (else empty), so a draw outside the rule
    beside a passing status is not read as a contradiction; a draw outside the seeds' central 95% is said to be
    atypical, with that range."""
    if row.get("seeds_display") and row.get("n_seeds"):
        n = int(row["n_seeds"])
        if row.get("draw_atypical") and row.get("seeds_range_display"):
            return (f"(this draw, outside the central 95% of {n} seeds, {row['seeds_range_display']}; "
                    f"median {row['seeds_display']})")
        return f"(this draw; median of {n} seeds {row['seeds_display']})"
    if row.get("kind") == "planted_twin" and row.get("reproduced_display") not in (None, "—"):
        # no distribution over seeds (the null exposures need all 205 IDPs per seed and are not redrawn): the status
        # is this run's draw alone, and the page says so
        return "(this draw only; not judged over seeds)"
    return ""


def reproduced_text(row: dict) -> str:
    """This run's number, and for a twin claim judged over seeds the median it was judged on."""
    return " ".join(t for t in (row.get("reproduced_display") or "—", seeds_text(row)) if t)


# ------------------------------------------------------------------------------------------------ {claim}
def claim_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{claim}`W.mr.il6.gmv_mtg.z``` -> published -> reproduced [status] (notebook, cell), linked."""
    env = inliner.document.settings.env
    data = run_data(env)
    cid = text.strip()
    row = data["_claims"].get(cid)
    if row is None:
        msg = inliner.reporter.error(f"unknown claim {cid!r} (not in data_manifest/published_claims.yaml)",
                                     line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    status = row["display_status"]
    box = nodes.inline("", "", classes=["claim", STATUS_CLASS.get(status, "")])
    numbers = f"{published_text(row)} → {row.get('reproduced_display') or '—'}"
    box += _ref(numbers, _relative(env, "ledger", row["anchor"]), ["claim-numbers"])
    if seeds_text(row):  # beside the linked numbers, not in bold with them
        box += nodes.Text(" ")
        box += nodes.inline("", seeds_text(row), classes=["claim-seeds"])
    box += nodes.Text(" ")
    box += nodes.inline("", status, classes=["claim-status"])
    verdict = row.get("conclusion_verdict") or ""
    if verdict:  # the paper's conclusion, judged apart from the number (over seeds for a twin)
        box += nodes.Text(" ")
        box += nodes.inline("", f"conclusion {verdict}", classes=["claim-conclusion"])
    link = _cell_link(env, row)
    if link is not None:  # spaced by CSS, not a text space: the printed paper hides the link and its space with it
        box += nodes.inline("", "", link, classes=["claim-where"])
    return [box], []


def unchecked_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{claims-unchecked}`W.ahba.enrich_``` -> a sentence saying how many of the claims whose id starts so were
    not checked in this build and why ("In this build 3 of these 4 were not checked: 06 ran without ..."), or
    nothing when all were."""
    data = run_data(inliner.document.settings.env)
    rows = [r for cid, r in data["_claims"].items() if cid.startswith(text.strip())]
    off = [r for r in rows if r.get("display_status") == "not checked"]
    if not off:
        return [], []
    reasons = list(dict.fromkeys(str(r.get("display_reason", "")).removeprefix("not checked: ") for r in off))
    words = (f"In this build {len(off)} of these {len(rows)} {'was' if len(off) == 1 else 'were'} not checked "
             f"({'; '.join(reasons)}), so the table below says nothing about {'it' if len(off) == 1 else 'them'}.")
    return [nodes.strong("", words)], []


def status_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{ledger-status}`not reproduced``` -> the status in its ledger colour."""
    return [nodes.inline("", text, classes=["ledger-status", STATUS_CLASS.get(text.strip(), "")])], []


# ------------------------------------------------------------------------------------------------ tables
def _block(content) -> nodes.Node:
    """A node that may sit in a table cell: inline nodes and text are wrapped in a paragraph."""
    if isinstance(content, (nodes.Inline, nodes.Text)):
        return nodes.paragraph("", "", content)
    if isinstance(content, nodes.Node):
        return content
    return nodes.paragraph("", str(content))


def _cell(content) -> nodes.entry:
    entry = nodes.entry()
    for c in content if isinstance(content, list) else [content]:
        entry += _block(c)
    return entry


def make_table(header: list[str], rows: list[list], *, classes: list[str] | None = None,
               widths: list[int] | None = None, row_ids: list[str] | None = None,
               row_classes: list[list[str]] | None = None) -> nodes.table:
    """A docutils table (the theme styles it); rows hold strings or nodes; optional row ids and classes."""
    table = nodes.table(classes=(classes or []) + (["colwidths-given"] if widths else []))
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths or [1] * len(header):
        group += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    hrow = nodes.row()
    for h in header:
        hrow += _cell(h)
    thead += hrow
    group += thead
    tbody = nodes.tbody()
    for i, r in enumerate(rows):
        row = nodes.row(ids=[row_ids[i]] if row_ids else [], classes=row_classes[i] if row_classes else [])
        for c in r:
            row += _cell(c)
        tbody += row
    group += tbody
    return table


def _measure(v, fmt: str) -> str:
    """A measured wall time or memory as the reader wants it (``"{:.1f}"``: 16.1 s; ``"{:,.0f}"``: 1,548 MB), not
    as recorded (16.08, 1547.7, which wrapped in their narrow columns); empty when missing."""
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return fmt.format(v)
    return "" if v is None or isinstance(v, int | float) else str(v)


def _provenance_value(v):
    """A figure's provenance value for the gallery: a dataset -> file -> sha256 mapping as one line per dataset
    ("ahba_dk: gene_expression_data.csv 350dda8555e3, ..."), digests as code; other lists or mappings as code
    (JSON, copyable: a text node's quotes would be typeset as curly quotes); anything else as text."""
    if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
        lst = nodes.bullet_list(classes=["provenance-data"])
        for name, files in v.items():
            para = nodes.paragraph("", "", nodes.strong("", str(name)), nodes.Text(": "))
            for i, (file, sha) in enumerate(files.items()):
                para += nodes.Text(("; " if i else "") + f"{file} ")
                para += nodes.literal("", str(sha))
            lst += nodes.list_item("", para)
        return lst
    if isinstance(v, (dict, list)):
        return nodes.literal("", _generic_value(v))
    return _generic_value(v)


def _generic_value(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True)
    return str(v)


class LedgerTable(SphinxDirective):
    """Every published claim: status, published, reproduced, rule and reason visible; source sentence, notes,
    accepted reasons, the notebook cell and any further ledger columns among the row's details (click a row)."""

    def run(self):
        data = run_data(self.env)
        led = data["ledger"]
        rows, ids, classes = [], [], []
        for r in led["rows"]:
            claim = [nodes.paragraph("", "", nodes.strong("", arrows(r["quantity"]))),
                     nodes.paragraph("", "", nodes.literal("", r["claim"]), classes=["claim-id"])]
            more = nodes.container(classes=["claim-more"])
            more += nodes.paragraph("", "", nodes.emphasis("", "Source: "), nodes.Text(f"“{r.get('source', '')}”"),
                                    classes=["claim-source"])
            extras = [("note", r.get("note")), ("accepted as not reproduced because", r.get("accepted_because")),
                      ("evidence", r.get("kind"))]
            extras += [(DETAIL_LABELS.get(k, k.replace("_", " ")), r.get(k)) for k in led.get("columns", [])
                       if k not in LEDGER_PLACED and k not in DETAIL_HIDDEN]
            for label, value in extras:
                # a share of seeds as every other page writes it (96.5%, not 0.965)
                power = label == DETAIL_LABELS["power"] and value is not None
                text = fmt_share(value) if power else _generic_value(value)
                if text:
                    more += nodes.paragraph("", "", nodes.emphasis("", f"{label}: "), nodes.Text(text))
            link = _cell_link(self.env, r)
            if link is not None:
                more += nodes.paragraph("", "", nodes.emphasis("", "recorded in: "), link)
            claim.append(more)
            status = r["display_status"]
            conclusion = nodes.paragraph("", "")
            if r.get("conclusion_verdict"):
                conclusion += nodes.strong("", r["conclusion_verdict"])
                # "does not hold (the paper's conclusion: enriched at q < 0.05)", not "does not hold (enriched ...)"
                conclusion += nodes.Text(f" (the paper's conclusion: {r['conclusion']})" if r.get("conclusion") else "")
            rows.append([claim, r["study"], nodes.inline("", status, classes=["ledger-status"]),
                         published_text(r), reproduced_text(r), r.get("rule_text", r.get("rule", "")), conclusion,
                         r.get("display_reason", "")])
            ids.append(r["anchor"])
            classes.append(["ledger-row", f"study-{r['study']}", STATUS_CLASS.get(status, "")])
        # a twin claim's rule is applied to the median over seeds, not to the draw shown as reproduced
        header = ["Claim", "Study", "Status", "Published", "Reproduced", "Rule (twin: on the seeds' median)",
                  "Conclusion", "Reason"]
        table = make_table(header, rows, classes=["ledger-table"], widths=[20, 6, 11, 10, 11, 11, 12, 19], row_ids=ids,
                           row_classes=classes)
        csv = nodes.paragraph("", "The whole table, every column: ")
        csv += _download(self.env, "/_run/ledger.csv", "ledger.csv")
        csv += nodes.Text(".")
        return [table, csv]


def not_reproduced_parts(rows: list[dict], claims: dict | None = None) -> list[str]:
    """The claims not reproduced, by why: on real data; on the twin with the planted number recovered, split by
    whether the paper's own printed number supports its conclusion (if not, the twin is faithful and the paper's
    numbers disagree with each other) or it does and the twin's power at the published size is below the 80% bar;
    on the twin with the number itself missed."""
    from .ledger import load_claims, printed_supports_conclusion

    if claims is None:
        claims = load_claims()
    miss = [r for r in rows if r.get("display_status") == "not reproduced"]
    twin = [r for r in miss if r.get("kind") == "planted_twin"]
    recovered = [r for r in twin if r.get("value_verdict") == "yes"]
    printed_short = sum(printed_supports_conclusion(str(r.get("claim")), claims) is False for r in recovered)
    parts = [(len(miss) - len(twin), "on real data (the number or the paper's conclusion does not hold here)"),
             (printed_short, "on the twin, the planted number recovered, where the paper's own printed number does "
                             "not reach its conclusion (e.g. a printed z whose two-sided P misses the paper's "
                             "threshold: see the consistency checks)"),
             (len(recovered) - printed_short, "on the twin, the planted number recovered, where the paper's "
                                              "conclusion holds in too few twin seeds to be shown reliably at the "
                                              "published size (the twin's power is below the 80% bar)"),
             (len(twin) - len(recovered), "on the twin: the planted number itself is not recovered")]
    return [f"{n} {text}" for n, text in parts if n]


class LedgerSummary(SphinxDirective):
    """The number of claims per status, as a list."""

    def run(self):
        data = run_data(self.env)
        counts: dict[str, int] = {}
        for r in data["ledger"]["rows"]:
            counts[r["display_status"]] = counts.get(r["display_status"], 0) + 1
        lst = nodes.bullet_list()
        for status in STATUS_CLASS:
            if counts.get(status):
                item = nodes.list_item()
                item += nodes.paragraph("", "", nodes.strong("", str(counts[status])), nodes.Text(" "),
                                        nodes.inline("", status, classes=["ledger-status", STATUS_CLASS[status]]))
                parts = not_reproduced_parts(data["ledger"]["rows"]) if status == "not reproduced" else []
                if parts:  # not one kind of failure: a real-data miss and a twin too small to show a conclusion
                    sub = nodes.bullet_list()
                    for text in parts:
                        sub += nodes.list_item("", nodes.paragraph("", text))
                    item += sub
                lst += item
        rows = data["ledger"]["rows"]
        press = sum("news summary" in str(r.get("source", "")) or "press summary" in str(r.get("source", ""))
                    for r in rows)
        where = "the two abstracts" + (f" and {counted(press, 'claim')} of a press summary" if press else "")
        box = nodes.container(classes=["ledger-summary"])  # printed on one page: the count with its list
        box += nodes.paragraph("", f"{len(rows)} published numbers, from {where}:")
        box += lst
        return [box]


class LedgerConsistency(SphinxDirective):
    """The consistency checks of the published statistics (generic columns)."""

    def run(self):
        con = run_data(self.env).get("consistency") or {}
        if not con.get("rows"):
            return [nodes.paragraph("", "No consistency checks.")]
        cols = con["columns"]
        rows = [[_generic_value(r.get(c)) for c in cols] for r in con["rows"]]
        return [make_table([c.replace("_", " ") for c in cols], rows, classes=["run-table", "consistency-table"])]


# ------------------------------------------------------------------------------------------------ figures
class unnumbered_figure(nodes.figure):  # noqa: N801 - docutils names node classes in lower case
    """A figure that takes no number: Sphinx numbers a figure (numfig) by its exact class, so only the paper's
    figures, which its text cites as Figure 1 ..., are numbered; the gallery's and the sweep's would otherwise
    continue the count across the book (the sweep's read "Figure 40")."""


def _visit_unnumbered(self, node) -> None:
    self.visit_figure(node)


def _depart_unnumbered(self, node) -> None:
    self.depart_figure(node)


def _figure_node(directive: SphinxDirective, name: str, caption_text: str | None, fig: dict, *,
                 numbered: bool = True) -> nodes.figure:
    figure = (nodes.figure if numbered else unnumbered_figure)(classes=["run-figure"])
    alt = caption_text or fig.get("provenance", {}).get("caption") or name  # a screen reader reads the caption
    figure += nodes.image(uri=f"/figures/{name}", alt=alt, candidates={"*": f"figures/{name}"})
    caption = nodes.caption()
    if caption_text:
        parsed, _msgs = directive.state.inline_text(caption_text, directive.lineno)
        caption += parsed
        # the page's own caption says nothing about the data: a figure the run made from a twin says so as its
        # notebook's caption does (figures.twin_note, recorded in the provenance), so on a real extract it does not
        note = fig.get("provenance", {}).get("synthetic_data")
        if note and note not in caption_text:
            caption += nodes.Text(" " + note)
    else:
        caption += nodes.Text(fig.get("provenance", {}).get("caption") or name)
    stem = fig.get("notebook")
    if stem:
        caption += nodes.Text(" (made by ")
        caption += _ref(f"notebook {stem.split('_', 1)[0]}", _relative(directive.env, f"notebooks/{stem}"))
        caption += nodes.Text(")")
    figure += caption
    return figure


class RunFigure(SphinxDirective):
    """A figure the run made: ``{run-figure} 02_il6_zmap_dk.png`` with the caption as content; ``:name:`` labels
    it for ``{numref}``. A figure this run did not make is reported in the page and as a build warning."""

    required_arguments = 1
    has_content = True
    option_spec = {"name": directives.unchanged, "width": directives.unchanged}

    def run(self):
        name = self.arguments[0]
        figs = {f["name"]: f for f in run_data(self.env).get("figures", [])}
        caption = " ".join(self.content).strip() or None
        if name not in figs:
            logger.warning(f"figure {name} was not made by this run", location=self.get_location())
            note = nodes.admonition(classes=["warning"])
            note += nodes.title("", "Figure not available")
            note += nodes.paragraph("", f"The figure {name} was not made by this run ({caption or ''}). Run the "
                                        "notebooks (python -m il6repro run) and rebuild.")
            if "name" in self.options:
                self.add_name(note)
            return [note]
        figure = _figure_node(self, name, caption, figs[name])
        if "width" in self.options:
            figure[0]["width"] = self.options["width"]
        self.add_name(figure)
        return [figure]


class RunGallery(SphinxDirective):
    """Every figure of the run with its caption, notebook, SVG and provenance."""

    def run(self):
        out = []
        figs = run_data(self.env).get("figures", [])
        if not figs:
            return [nodes.paragraph("", "No figures yet: run the notebooks (python -m il6repro run).")]
        in_paper = paper_figure_labels(Path(self.env.srcdir) / "paper.md")
        for fig in figs:
            section = nodes.container(classes=["gallery-item"], ids=[nodes.make_id("fig-" + fig["name"])])
            section += _figure_node(self, fig["name"], None, fig, numbered=False)
            para = nodes.paragraph("", "", nodes.literal("", fig["name"]))
            if fig["name"] in in_paper:  # the paper's number for it, linked (the gallery numbers nothing itself)
                para += nodes.Text(" · ")
                refs, _msgs = self.state.inline_text(f"{{numref}}`Figure %s of the paper <{in_paper[fig['name']]}>`",
                                                     self.lineno)
                para += refs
            if fig.get("svg"):
                para += nodes.Text(" · ")
                para += _download(self.env, f"/figures/{fig['svg']}", "SVG")
            section += para
            prov = {k: v for k, v in sorted(fig.get("provenance", {}).items())
                    if k not in ("caption", "figure", "synthetic_data")}  # the last is in the caption
            if prov:
                section += make_table(["provenance", "value"], [[k, _provenance_value(v)] for k, v in prov.items()],
                                      classes=["provenance-table"], widths=[1, 4])
            out.append(section)
        return out


def paper_figure_labels(paper: Path) -> dict[str, str]:
    """File name -> label of every ``{run-figure}`` of the paper page that has a ``:name:``."""
    text = paper.read_text() if paper.is_file() else ""
    return dict(re.findall(r"```\{run-figure\}\s+(\S+)\s*\n:name:\s*(\S+)", text))


def _download(env, target: str, text: str) -> addnodes.download_reference:
    ref = addnodes.download_reference("", "", reftarget=target, refdoc=env.docname, refexplicit=True,
                                      refdomain="", reftype="download")
    ref += nodes.literal("", text)
    return ref


# ------------------------------------------------------------------------------------------------ methods
class RunMethods(SphinxDirective):
    """The methods paragraphs written by the named notebooks (``{run-methods} 02 03``), parsed as MyST."""

    required_arguments = 1
    optional_arguments = 30
    option_spec = {"provenance": directives.flag}

    def run(self):
        data = run_data(self.env)
        books = {n["stem"]: n for n in data.get("notebooks", [])}
        methods = data.get("methods", {})
        out: list[nodes.Node] = []
        for arg in self.arguments:
            stems = [s for s in methods if s.split("_", 1)[0] == arg or s == arg]
            if not stems:
                out.append(nodes.paragraph("", f"(No methods paragraph from notebook {arg} in this run.)",
                                           classes=["run-missing"]))
                continue
            for stem in stems:
                box = nodes.container(classes=["run-methods"])
                full = "provenance" in self.options
                for title, text in _methods_blocks(methods[stem]):
                    main, _sep, data_sentence = text.partition(DATA_SENTENCE)
                    para = nodes.paragraph()
                    if title:
                        para += nodes.strong("", f"{title}. ")
                    parsed, _msgs = self.state.inline_text(main.strip(), self.lineno)
                    para += parsed
                    box += para
                    if full and data_sentence:
                        box += nodes.paragraph("", DATA_SENTENCE + data_sentence, classes=["run-data"])
                nb = books.get(stem, {})
                src = nodes.paragraph(classes=["run-provenance"])
                src += nodes.Text("Written by ")
                src += _ref(f"notebook {stem.split('_', 1)[0]}", _relative(self.env, f"notebooks/{stem}"))
                src += nodes.Text(f" from its run (profile {nb.get('profile', '?')}).")
                if full:
                    src += nodes.Text(" Parameters: ")
                    src += _params_node(nb.get("parameters", {}))
                elif nb.get("datasets"):
                    src += nodes.Text(f" Data: {', '.join(sorted(nb['datasets']))} (sources and sha256 in the ")
                    src += _ref("receipts", _relative(self.env, "receipts"))
                    src += nodes.Text(").")
                box += src
                out.append(box)
        return out


def _methods_blocks(text: str) -> list[tuple[str | None, str]]:
    """('### Title' headings, paragraph) pairs of a methods file; a heading titles the paragraph after it."""
    out, title = [], None
    for block in re.split(r"\n\s*\n", text):
        block = block.strip()
        if not block:
            continue
        if block.startswith("#"):
            title = block.lstrip("#").strip()
            continue
        out.append((title, " ".join(block.split())))
        title = None
    return out


# ------------------------------------------------------------------------------------------------ receipts
def _params_node(params: dict) -> nodes.inline:
    """A run's parameters as a reader would pass them (``-p name=value``): one ``name=value`` per parameter,
    wrapping between parameters, instead of a JSON object."""
    box = nodes.inline(classes=["run-params"])
    for i, (k, v) in enumerate(sorted(params.items())):
        if i:
            box += nodes.Text(" ")
        box += nodes.literal("", f"{k}={json.dumps(v)}")
    return box


class RunReceipts(SphinxDirective):
    """One row per executed notebook: profile, parameters, commit, wall time, peak memory, datasets."""

    def run(self):
        rows = []
        for nb in run_data(self.env).get("notebooks", []):
            link = _ref(nb["stem"], _relative(self.env, f"notebooks/{nb['stem']}"))
            ds = "; ".join(f"{k} ({v})" for k, v in sorted(nb.get("datasets", {}).items()))
            miss = ", ".join(sorted(nb.get("unavailable", {})))
            rows.append([link, nb.get("profile", ""), _params_node(nb.get("parameters", {})),
                         nodes.literal("", short_commit(nb.get("commit", ""))), _measure(nb.get("wall_seconds"), "{:.1f}"),
                         _measure(nb.get("peak_rss_mb"), "{:,.0f}"), ds, miss])
        if not rows:
            return [nodes.paragraph("", "No notebook has run yet.")]
        return [make_table(["notebook", "profile", "parameters", "commit", "wall (s)", "peak RSS (MB)",
                            "datasets (source)", "unavailable"], rows, classes=["run-table", "receipts-table"],
                           widths=[10, 6, 20, 8, 6, 6, 30, 14])]


# ------------------------------------------------------------------------------------------------ sweep
class RunSweep(SphinxDirective):
    """The what-if sweep's summary figure (yes / no per conclusion and choice) and table (:func:`_sweep_rows`)."""

    def run(self):
        sweep = run_data(self.env).get("sweep")
        if not sweep:
            return [nodes.paragraph("", "No sweep has been run yet: python -m il6repro sweep runs the grid of "
                                        "analysis choices in lib/il6repro/sweep.yaml and its summary appears here.")]
        out: list[nodes.Node] = []
        meta = sweep.get("meta", {})
        if sweep.get("figure"):
            fig = _figure_node(self, sweep["figure"], "Conclusions (rows) by analysis choice (columns): green where "
                               "the conclusion holds, red where it does not.", {}, numbered=False)
            fig["ids"].append("fig-sweep-summary")
            out.append(fig)
        head, rows = _sweep_rows(sweep["columns"], sweep["rows"])
        out.append(make_table(head, rows, classes=["run-table", "sweep-table"]))
        para = nodes.paragraph()
        if sweep.get("points"):
            para += _download(self.env, "/" + sweep["points"], "every run of the sweep (CSV)")
            para += nodes.Text(". ")
        if meta:
            para += nodes.Text(f"{meta.get('n_points', '?')} runs on the {meta.get('profile', '?')} profile, on a "
                               f"Dask cluster of {meta.get('workers', '?')} worker(s), "
                               f"{_measure(meta.get('wall_seconds'), '{:.1f}') or '?'} s wall.")
        out.append(para)
        return out


def _sweep_rows(cols: list[str], records: list[dict]) -> tuple[list[str], list[list]]:
    """The sweep table as a reader scans it: per conclusion, how many runs it holds under, its power over twin
    seeds, and the choices that differ from the rest, whichever list is shorter: those it fails under, or those
    it only holds under (the full grid is the figure above it and the CSV). A choice column is one named
    ``"setting = value"``; blank cells are runs that do not touch the conclusion."""
    from .report import arrows

    choices = [c for c in cols if " = " in c]
    kept = [c for c in cols if c not in choices]
    rows = []
    for r in records:
        row = [arrows(_generic_value(r.get(c))) for c in kept]  # "IL-6 → GMV", as in the figure
        yes = [c for c in choices if _generic_value(r.get(c)) == "yes"]
        no = [c for c in choices if _generic_value(r.get(c)) == "no"]
        cell = nodes.inline()
        if yes and not no:
            cell += nodes.inline("", "holds under every choice", classes=["sweep-yes"])
        elif no and not yes:
            cell += nodes.inline("", "fails under every choice", classes=["sweep-no"])
        elif yes:
            label, names, cls = ("fails under: ", no, "sweep-no") if len(no) <= len(yes) else \
                ("holds only under: ", yes, "sweep-yes")
            cell += nodes.Text(label)
            for i, name in enumerate(names):
                if i:
                    cell += nodes.Text("; ")
                cell += nodes.inline("", name, classes=[cls])
        rows.append([*row, cell])
    return [*kept, "where the choices differ"], rows


# ------------------------------------------------------------------------------------------------ teaching, data
class StudentDownloads(SphinxDirective):
    """Download links for every file the student build wrote (build/teaching), if it has run."""

    def run(self):
        files = run_data(self.env).get("student_files", [])
        if not files:
            return [nodes.paragraph("", "The student versions have not been built: python -m il6repro teach "
                                        "writes them to build/teaching/ and they appear here.")]
        lst = nodes.bullet_list()
        for f in files:
            item = nodes.list_item()
            item += nodes.paragraph("", "", _download(self.env, "/" + f, f.rsplit("/", 1)[1]))
            lst += item
        return [lst]


class DatasetCitations(SphinxDirective):
    """Every dataset of data_manifest/ with its licence, the manifest's citation and the references.bib entries
    that name it in their ``datasets`` field (cited, so they appear in the bibliography)."""

    def run(self):
        data = run_data(self.env)
        keys = _bib_datasets(Path(self.env.srcdir) / "references.bib")
        text = []
        for ds in data.get("datasets", []):
            cites = sorted(k for k, v in keys.items() if ds["id"] in v)
            cite = f" {{cite:p}}`{','.join(cites)}`" if cites else ""
            text.append(f"- **{ds['title']}** (`{ds['id']}`, {ds['kind']}).{cite} Licence: {ds['licence']}.")
        if not text:
            return []
        return self.parse_text_to_nodes("\n".join(text))


def _bib_datasets(path: Path) -> dict[str, set[str]]:
    """references.bib key -> dataset ids named in its ``datasets`` field."""
    if not path.is_file():
        return {}
    from pybtex.database import parse_file

    bib = parse_file(str(path), bib_format="bibtex")
    return {k: {d.strip() for d in e.fields.get("datasets", "").split(",") if d.strip()}
            for k, e in bib.entries.items()}


class ExtractLayout(SphinxDirective):
    """The layout a reader's own extract must follow (``{extract-layout} ukb`` or ``whitehall``): per file, each
    column (or group of columns) with what it holds, from the manifests the loaders read
    (``il6repro.twins.ukb.layout``, ``il6repro.twins.whitehall.layout``). A list rather than a table: the book's
    data-governance scan reads a table whose first row names a participant-id column (``eid``, ``stno``) as a
    table of participants."""

    required_arguments = 1

    def run(self):
        which = self.arguments[0]
        lay = (run_data(self.env).get("layouts") or {}).get(which)
        if not lay:
            logger.warning(f"no extract layout {which!r} in the run snapshot", location=self.get_location())
            return [nodes.paragraph("", f"(No layout for {which}.)")]
        out: list[nodes.Node] = []
        files: dict[str, list[dict]] = {}
        for r in lay["rows"]:
            files.setdefault(r.get("file", ""), []).append(r)
        for file, rows in files.items():
            if file:
                out.append(nodes.paragraph("", "", nodes.literal("", file), nodes.Text(":")))
            lst = nodes.bullet_list(classes=["layout-list"])
            for r in rows:
                para = nodes.paragraph()
                para += nodes.literal("", str(r.get("columns") or r.get("columns in the file") or r.get("column")))
                named = r.get("key") or (r.get("column") if "<p>" in str(r.get("column", "")) else None)
                if named and named != para.astext():  # the columns.yaml key, or the phase pattern
                    para += nodes.Text(" (")
                    para += nodes.literal("", str(named))
                    para += nodes.Text(")")
                para += nodes.Text(": ")
                # code in the description (``on_bad_ghq="missing"``, ``--export A``) as code: plain text would be
                # typeset by Sphinx's smart quotes (curly quotes, "--" as a dash)
                for i, part in enumerate(re.split(r'(\w+="[^"]*"|--\w[\w-]*(?: A)?)', str(r.get("holds", "")))):
                    if part:
                        para += nodes.literal("", part) if i % 2 else nodes.Text(part)
                item = nodes.list_item()
                item += para
                lst += item
            out.append(lst)
        return out


class NotebookToctree(SphinxDirective):
    """The notebooks' table of contents: ``study`` (the paper's chapters) or ``teaching`` (with the pages of
    book/teaching/ and the student downloads page)."""

    required_arguments = 1
    option_spec = {"caption": directives.unchanged, "extra": directives.unchanged}

    def run(self):
        which = self.arguments[0]
        nbs = [n for n in run_data(self.env).get("notebooks", []) if n.get("teaching") == (which == "teaching")]
        entries = [f"notebooks/{n['stem']}" for n in nbs]
        if which == "teaching":
            entries += sorted(f"teaching/{p.stem}" for p in (Path(self.env.srcdir) / "teaching").glob("*.md")
                              if p.name != "README.md")
            entries += sorted(f"teaching/{p.stem}" for p in (Path(self.env.srcdir) / "teaching").glob("*.ipynb"))
        entries += (self.options.get("extra") or "").split()
        if not entries:
            return []
        caption = self.options.get("caption", which.title())
        text = "```{toctree}\n:maxdepth: 1\n:caption: " + caption + "\n\n" + "\n".join(entries) + "\n```\n"
        return self.parse_text_to_nodes(text)


class PaperPdf(SphinxDirective):
    """A link to the printed paper (``paper.pdf``, printed by headless Chromium after the HTML build)."""

    def run(self):
        pdf = run_data(self.env).get("pdf", "paper.pdf")
        para = nodes.paragraph(classes=["paper-pdf"])
        root = _relative(self.env, "index").rsplit("index.html", 1)[0]  # "" or "../" ...
        para += _ref("Download this paper as PDF", root + pdf, ["paper-pdf-link"])
        para += nodes.Text(" (printed from this page by headless Chromium).")
        return [para]


# ------------------------------------------------------------------------------------------------ transforms
def add_cell_anchors(app, doctree) -> None:
    """Give every executed code cell of a notebook page the anchor ``cell-<execution count>``, and fold the cell
    papermill injected (the parameters this run used) under a "show" toggle: it repeats the parameters cell above
    it with the run's values."""
    for node in doctree.findall(nodes.container):
        if node.get("nb_element") != "cell_code":
            continue
        if node.get("exec_count"):
            anchor = f"cell-{node['exec_count']}"
            if anchor not in node["ids"]:
                node["ids"].append(anchor)
        if "tag_injected-parameters" in node["classes"] and not node.get("hide_mode"):
            node["hide_mode"] = "input"
            node["prompt_show"] = "Show the parameters this run used"
            node["prompt_hide"] = "Hide the parameters this run used"


def _figure_alts(app) -> dict[str, str]:
    """sha256 of each PNG the run saved (``figures/`` of the book's source) -> its caption, read once per build."""
    cached = getattr(app, "_il6repro_alts", None)
    if cached is None:
        cached = {}
        folder = Path(app.srcdir) / "figures"
        for fig in run_data(app.env).get("figures", []):
            caption = (fig.get("provenance") or {}).get("caption")
            path = folder / fig.get("name", "")
            if caption and path.suffix == ".png" and path.is_file():
                cached[hashlib.sha256(path.read_bytes()).hexdigest()] = caption
        app._il6repro_alts = cached
    return cached


def add_figure_alt_text(app, doctree) -> None:
    """A notebook's figure output is written by MyST-NB under the sha256 of its bytes, with no alternative text but
    that file name; the run saved the same PNG with a caption, which becomes the image's ``alt`` (screen readers,
    and the text shown when an image cannot load)."""
    alts = None
    for img in doctree.findall(nodes.image):
        stem = Path(img.get("uri", "")).stem
        if len(stem) == 64 and (alts := alts if alts is not None else _figure_alts(app)).get(stem):
            img["alt"] = alts[stem]


def _tex_inline(self, node) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math tex"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</span>")
    raise nodes.SkipNode


def _tex_block(self, node) -> None:
    self.body.append(self.starttag(node, "pre", "", CLASS="math tex"))
    self.body.append(self.encode(node.astext()))
    self.body.append("</pre>")
    raise nodes.SkipNode


def setup(app):
    """Register the roles, directives, the cell anchors and the offline math renderer."""
    # a change of this extension's code changes this value, so Sphinx re-reads every page instead of reusing
    # doctrees made by the old code
    app.add_config_value("il6repro_book_code", hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), "env")
    app.add_role("claim", claim_role)
    app.add_role("ledger-status", status_role)
    app.add_role("claims-unchecked", unchecked_role)
    for name, cls in {"ledger-table": LedgerTable, "ledger-summary": LedgerSummary,
                      "ledger-consistency": LedgerConsistency, "run-figure": RunFigure, "run-gallery": RunGallery,
                      "run-methods": RunMethods, "run-receipts": RunReceipts, "run-sweep": RunSweep,
                      "student-downloads": StudentDownloads, "dataset-citations": DatasetCitations,
                      "extract-layout": ExtractLayout,
                      "notebook-toctree": NotebookToctree, "paper-pdf": PaperPdf}.items():
        app.add_directive(name, cls)
    app.add_node(unnumbered_figure, html=(_visit_unnumbered, _depart_unnumbered))
    app.connect("doctree-read", add_cell_anchors)
    app.connect("doctree-read", add_figure_alt_text)
    app.add_html_math_renderer("il6repro_tex", (_tex_inline, None), (_tex_block, None))
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
