"""Render the executed notebooks, the figure gallery, the ledger and the run receipts to a static site.

``python -m il6repro site`` writes ``build/site/``: ``index.html`` (the paper in short and a link per notebook),
``notebooks/NN_name.html``, ``gallery.html`` (every figure with its provenance and the notebook that made it),
``ledger.html`` + ``ledger.csv``, ``methods.html`` (each notebook's methods paragraph, written by the run),
``sweep.html`` (the what-if sweep's summary, when ``python -m il6repro sweep`` has run) and ``receipts.html``.
Before the new site replaces the old one it is scanned for individual-level data (:mod:`il6repro.governance`);
a finding stops the build and leaves the previous site in place. Pages are self-contained: no script or style is loaded
from the network (nbconvert's CDN script tags are removed), so the site works offline. The site is rebuilt
only when its inputs changed, into a temporary folder that replaces the old site when complete.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from ._paths import build_dir, figures_dir, repo_root

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2329;background:#fafbfc}
header{background:#23395d;color:#fff;padding:1rem 2rem}header a{color:#fff;margin-right:1.2rem}
main{max-width:1400px;margin:0 auto;padding:1rem 2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:1rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#eef1f4}
.st-real{background:#d4f7d4}.st-twin{background:#dcecff}.st-design{background:#eee8ff}
.st-fail{background:#ffd6d6}.st-todo{background:#f4f4f4;color:#666}
figure{background:#fff;border:1px solid #d0d7de;padding:.6rem;margin:1rem 0}figure img{max-width:100%}
code,.mono{font-family:ui-monospace,monospace;font-size:.85rem}.small{font-size:.8rem;color:#555}
"""

STATUS_CLASS = {
    "reproduced on real data": "st-real", "recovered from a planted twin": "st-twin",
    "set by design (twin input)": "st-design", "not reproduced": "st-fail", "not yet attempted": "st-todo",
}

STORY = """<p>This site is a reproducible paper of two studies of interleukin-6 (IL-6) and the brain.
<b>Study W</b> (Williams et al., <i>JAMA Psychiatry</i> 2022): Mendelian randomization of genetic proxies for IL-1,
IL-2, IL-6, CRP and BDNF on regional grey-matter volume and cortical thickness in 20,688 UK Biobank participants,
then Allen Human Brain Atlas expression of the implicated regions. <b>Study V</b> (Virtanen et al.,
<i>Psychological Medicine</i> 2015, Whitehall II): low vs high IL-6 and recovery from psychological distress.</p>
<p>Public data (AHBA expression, atlases, gene sets, STRING) are used for real. The individual-level cohorts are
access-controlled, so their analyses run on <b>synthetic twins</b> calibrated to the published figures: a number
recovered from a twin shows the pipeline works, not that the finding is true. The ledger says which is which.</p>"""


def _page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    nav = (f'<a href="{up}index.html">Index</a><a href="{up}ledger.html">Ledger</a>'
           f'<a href="{up}methods.html">Methods</a><a href="{up}gallery.html">Figures</a>'
           f'<a href="{up}sweep.html">What-if sweep</a><a href="{up}receipts.html">Run receipts</a>')
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title><link rel='icon' href='data:,'>"
            f"<link rel='stylesheet' href='{up}style.css'></head><body><header><b>il6repro</b> &nbsp; {nav}"
            f"</header><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")


def _fmt(v) -> str:
    """A table cell: blank for missing, compact general format for numbers."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _table(df, classes: dict[int, str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for i, (_, r) in enumerate(df.iterrows()):
        cls = f" class='{classes[i]}'" if classes and i in classes else ""
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in r.tolist())
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.I)
_CDN_MODULE = re.compile(r"<script[^>]*>(?:(?!</script>).)*?https?://cdnjs(?:(?!</script>).)*</script>", re.S | re.I)


def render_notebook(path: Path) -> tuple[str, str]:
    """HTML of one executed notebook (no network resources) and its title (first markdown heading)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    title = path.stem
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                title = m.group(1).strip()
                break
    exporter = HTMLExporter(template_name="lab")
    body, _ = exporter.from_notebook_node(nb)
    body = _EXTERNAL_SCRIPT.sub("", body)
    body = _CDN_MODULE.sub("", body)  # mermaid loader that would import from a CDN: the site must work offline
    body = body.replace("<head>", "<head><link rel='icon' href='data:,'>", 1)
    back = ("<div style='padding:.5rem 1rem;background:#23395d'><a style='color:#fff' href='../index.html'>"
            "&larr; il6repro index</a></div>")
    body = re.sub(r"(<body[^>]*>)", r"\1" + back, body, count=1)
    return body, title


def _inputs_digest(bdir: Path) -> str:
    h = hashlib.sha256()
    files = sorted((bdir / "receipts").glob("*.json")) + sorted((bdir / "notebooks").glob("*.ipynb")) + \
        sorted((bdir / "results").glob("*.json")) + sorted((bdir / "results").glob("*.methods.md")) + \
        sorted((bdir / "sweep").glob("summary*")) + [Path(__file__)] + \
        [repo_root() / "data_manifest" / "ledger_baseline.yaml"] + \
        [repo_root() / "data_manifest" / "published_claims.yaml"]
    for p in files:
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def build_site(out: Path | None = None, *, force: bool = False, log=print) -> Path:
    """Build the site into ``out`` (default ``build/site``); skip when nothing changed."""
    from .figures import read_provenance
    from .governance import GovernanceError, load_ids, scan_site
    from .ledger import (
        NOT_REPRODUCED,
        LedgerError,
        compare,
        consistency_checks,
        load_baseline,
        summary_counts,
    )

    bdir = build_dir()
    out = Path(out) if out else bdir / "site"
    digest = _inputs_digest(bdir)
    stamp = out / ".inputs.sha256"
    if not force and stamp.is_file() and stamp.read_text() == digest:
        log(f"site: up to date ({out})")
        return out
    receipts = [json.loads(p.read_text()) for p in sorted((bdir / "receipts").glob("*.json"))]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".site-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        (tmp / "notebooks").mkdir()
        (tmp / "figures").mkdir()
        (tmp / "style.css").write_text(STYLE)
        nb_rows, fig_blocks = [], []
        for rec in receipts:
            stem = rec["notebook"]
            src = bdir / "notebooks" / f"{stem}.ipynb"
            if not src.is_file():
                continue
            body, title = render_notebook(src)
            (tmp / "notebooks" / f"{stem}.html").write_text(body)
            nb_rows.append((stem, title, rec))
            for name in sorted(rec.get("figures", {})):
                if not name.endswith(".png"):
                    continue
                fsrc = figures_dir() / name
                if not fsrc.is_file():
                    continue
                shutil.copy2(fsrc, tmp / "figures" / name)
                svg = fsrc.with_suffix(".svg")
                if svg.is_file():
                    shutil.copy2(svg, tmp / "figures" / svg.name)
                prov = read_provenance(fsrc)
                rows = "".join(f"<tr><th>{html.escape(k)}</th><td class='mono'>{html.escape(json.dumps(v) if isinstance(v, dict) else str(v))}</td></tr>"
                               for k, v in sorted(prov.items()) if k not in ("caption", "figure"))
                fig_blocks.append(
                    f"<figure id='{html.escape(name)}'><img src='figures/{html.escape(name)}' alt='{html.escape(prov.get('caption') or name)}'>"
                    f"<figcaption><b>{html.escape(name)}</b> &mdash; {html.escape(prov.get('caption', ''))} "
                    f"(made by <a href='notebooks/{stem}.html'>{stem}</a>; <a href='figures/{html.escape(svg.name)}'>SVG</a>)"
                    f"<table>{rows}</table></figcaption></figure>")
        table = compare()
        try:
            accepted = {k: v.get("why", "") for k, v in load_baseline().items() if v["status"] == NOT_REPRODUCED}
        except LedgerError:
            accepted = {}
        table["accepted because"] = [accepted.get(c, "") if st == NOT_REPRODUCED else ""
                                     for c, st in zip(table["claim"], table["status"], strict=True)]
        table.to_csv(tmp / "ledger.csv", index=False)
        counts = summary_counts(table)
        classes = {i: STATUS_CLASS.get(s, "") for i, s in enumerate(table["status"])}
        show = table[["claim", "study", "quantity", "published", "published_ci", "reproduced", "reproduced_ci",
                      "rule", "value_verdict", "conclusion", "conclusion_verdict", "over_seeds", "status", "reason",
                      "note", "accepted because"]]
        ledger_body = ("<p>Every number in the two abstracts, the reproduced value, the rule applied, and an honest "
                       "status. Colours: <span class='st-real'>real data</span>, <span class='st-twin'>planted "
                       "twin</span>, <span class='st-design'>twin input</span>, <span class='st-fail'>not "
                       "reproduced</span>, <span class='st-todo'>not yet attempted</span>. "
                       "<a href='ledger.csv'>CSV</a>. A claim accepted as not reproduced says why (from "
                       "<code>data_manifest/ledger_baseline.yaml</code>); <code>python -m il6repro ledger --check</code> "
                       "fails when a claim that passed there no longer does. Two verdicts: the number against its "
                       "rule, and the paper's conclusion; a claim passes only when both hold. A twin's claims are "
                       "judged over 200 twin seeds (the rule on the median, the conclusion by the share of seeds "
                       "where it holds, reliable when its exact 95% CI lies at or above 80%); <i>reproduced</i> is "
                       "this run's single draw.</p>"
                       + _table(show, classes) +
                       "<h2>Consistency of the published statistics</h2><p>The abstracts' numbers checked against "
                       "each other, without any reproduction.</p>" + _table(consistency_checks()))
        (tmp / "ledger.html").write_text(_page("Reproduction ledger", ledger_body))
        (tmp / "gallery.html").write_text(_page("Figures", "".join(fig_blocks) or "<p>No figures yet.</p>"))
        rrows = []
        for stem, _title, rec in nb_rows:
            t = rec.get("timing", {})
            ds = ", ".join(f"{k} ({v['source']})" for k, v in rec.get("datasets", {}).items())
            miss = ", ".join(rec.get("datasets_unavailable", {}))
            rrows.append(f"<tr><td><a href='notebooks/{stem}.html'>{stem}</a></td><td>{html.escape(rec['profile'])}</td>"
                         f"<td class='mono'>{html.escape(json.dumps(rec['parameters'], sort_keys=True))}</td>"
                         f"<td class='mono'>{html.escape(rec['git_commit'][:12])}</td><td>{t.get('wall_seconds')}</td>"
                         f"<td>{t.get('peak_rss_mb')}</td><td>{html.escape(ds)}</td><td>{html.escape(miss)}</td></tr>")
        receipts_body = ("<table><thead><tr><th>notebook</th><th>profile</th><th>parameters</th><th>commit</th>"
                         "<th>wall (s)</th><th>peak RSS (MB)</th><th>datasets (source)</th><th>unavailable</th>"
                         "</tr></thead><tbody>" + "".join(rrows) + "</tbody></table>")
        (tmp / "receipts.html").write_text(_page("Run receipts", receipts_body))
        (tmp / "methods.html").write_text(_page("Methods", _methods_body(bdir, nb_rows)))
        (tmp / "sweep.html").write_text(_page("What-if sweep", _sweep_body(bdir, tmp)))
        items = "".join(f"<li><a href='notebooks/{stem}.html'>{html.escape(stem)}</a> &mdash; {html.escape(title)}</li>"
                        for stem, title, _ in nb_rows)
        count_txt = ", ".join(f"{v} {html.escape(k)}" for k, v in counts.items())
        index_body = (STORY + f"<h2>Notebooks</h2><ol>{items or '<li>none executed yet</li>'}</ol>"
                      f"<h2>Ledger</h2><p>{len(table)} published numbers: {count_txt}. "
                      f"<a href='ledger.html'>Open the ledger</a>.</p>"
                      "<p><a href='methods.html'>Methods</a> (written by the run) &middot; <a href='gallery.html'>"
                      "Figure gallery</a> &middot; <a href='sweep.html'>What-if sweep</a> &middot; "
                      "<a href='receipts.html'>Run receipts</a></p>")
        (tmp / "index.html").write_text(_page("IL-6 and the brain: a reproducible paper", index_body))
        findings = scan_site(tmp, load_ids(sorted((bdir / "governance").glob("*.ids"))))
        if findings:
            raise GovernanceError(f"the rendered site holds individual-level data ({len(findings)} finding(s)); the "
                                  "previous site is kept: " + "; ".join(map(str, findings[:10])))
        (tmp / ".inputs.sha256").write_text(digest)
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
    log(f"site: {len(nb_rows)} notebook(s), {len(fig_blocks)} figure(s) -> {out / 'index.html'}")
    return out


def _markdown_paragraphs(text: str) -> str:
    out = []
    for block in text.split("\n\n"):
        block = block.strip()
        if not block:
            continue
        if block.startswith("### "):
            out.append(f"<h2>{html.escape(block[4:])}</h2>")
        else:
            out.append(f"<p>{html.escape(block)}</p>")
    return "".join(out)


def _methods_body(bdir: Path, nb_rows) -> str:
    """Each executed notebook's methods paragraph (written by the run), then software and commit."""
    parts = ["<p>Every paragraph below was written by the notebook from the parameters, counts and data it ran "
             "with (<code>il6repro.methods</code>), so it cannot disagree with the results on this site.</p>"]
    packages, commits = {}, set()
    for stem, _title, rec in nb_rows:
        f = bdir / "results" / f"{stem}.methods.md"
        commits.add(rec.get("git_commit", "")[:12])
        packages.update(rec.get("packages", {}))
        if f.is_file():
            parts.append(_markdown_paragraphs(f.read_text()) +
                         f"<p class='small'>From <a href='notebooks/{stem}.html'>{html.escape(stem)}</a>, profile "
                         f"{html.escape(rec.get('profile', ''))}, parameters <span class='mono'>"
                         f"{html.escape(json.dumps(rec.get('parameters', {}), sort_keys=True))}</span>.</p>")
    if packages:
        soft = ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))
        parts.append(f"<h2>Software</h2><p>{html.escape(soft)}; il6repro at commit "
                     f"{html.escape(', '.join(sorted(c for c in commits if c)))}.</p>")
    return "".join(parts)


def _sweep_body(bdir: Path, site: Path) -> str:
    """The what-if sweep's summary table and figure, if a sweep has run."""
    sdir = bdir / "sweep"
    table, fig = sdir / "summary.csv", sdir / "summary.png"
    if not table.is_file():
        return ("<p>No sweep has been run yet. <code>python -m il6repro sweep</code> runs the grid of analysis "
                "choices in <code>lib/il6repro/sweep.yaml</code> and writes its summary here.</p>")
    import pandas as pd

    df = pd.read_csv(table, keep_default_na=False)
    meta = json.loads((sdir / "summary.json").read_text()) if (sdir / "summary.json").is_file() else {}
    body = ("<p>Which conclusions survive which analysis choices. Each column is one run of the affected "
            "notebooks with one choice changed from the default (profile "
            f"{html.escape(str(meta.get('profile', '?')))}); a cell says whether the conclusion holds "
            "(<span class='st-real'>yes</span> / <span class='st-fail'>no</span>; blank: that run does not "
            "touch it). Conclusions about twin data show what the twin recovers under each choice.</p>")
    if fig.is_file():
        shutil.copy2(fig, site / "figures" / "sweep_summary.png")
        body += ("<figure><img src='figures/sweep_summary.png' alt='Conclusions by analysis choice'>"
                 "<figcaption>Conclusions (rows) by analysis choice (columns).</figcaption></figure>")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for _c, v in r.items():
            cls = " class='st-real'" if v == "yes" else " class='st-fail'" if v == "no" else ""
            cells.append(f"<td{cls}>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body += f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if (sdir / "points.csv").is_file():
        shutil.copy2(sdir / "points.csv", site / "sweep_points.csv")
        body += "<p><a href='sweep_points.csv'>Every run of the sweep (CSV)</a>.</p>"
    if meta:
        body += (f"<p class='small'>{meta.get('n_points', '?')} runs on a Dask cluster of "
                 f"{meta.get('workers', '?')} worker(s), {meta.get('wall_seconds', '?')} s wall.</p>")
    return body
