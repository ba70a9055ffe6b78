"""The book: Sphinx builds it from the runner's outputs; its numbers follow the run; Chromium checks every page,
the search and the printed paper."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import IN_CI, OK_NB, ROOT
from il6repro.ledger import load_claims
from il6repro.runner import run
from il6repro.site import build_site, claim_display, ledger_rows, printed_style, site_dir
from il6repro.sitecheck import BrowserUnavailable, check_site, chromium_path, search
from tinynb import write_notebook

QUIET = {"log": lambda *a: None}


def _browser_or_skip():
    try:
        chromium_path()
        import playwright  # noqa: F401
    except (BrowserUnavailable, ImportError) as exc:
        if IN_CI:
            pytest.fail(f"CI must run the browser check: {exc}")
        pytest.skip(str(exc))


def _pdftotext_or_skip() -> str:
    exe = shutil.which("pdftotext")
    if not exe:
        if IN_CI:
            pytest.fail("CI must check the paper PDF: pdftotext (Debian poppler-utils) is missing")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    return exe


def _pdf_text(pdf: Path) -> str:
    """The PDF's words, whitespace (including line breaks) collapsed to single spaces."""
    out = subprocess.run([_pdftotext_or_skip(), str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def _text(page: Path) -> str:
    """The words of an HTML page (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def _cell_of(notebook: Path, needle: str) -> int:
    nb = json.loads(notebook.read_text())
    return next(c["execution_count"] for c in nb["cells"] if c["cell_type"] == "code" and needle in "".join(c["source"]))


def _tiny(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / "01_tiny.ipynb", OK_NB)
    write_notebook(folder / "02_second.ipynb", [("md", "# Second"), ("params", "k = 2"), ("code", "print(k * 2)")],
                   depends=["01_tiny"])
    return folder


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """One book built from the tiny notebooks, shared by the tests that only read it (building takes a while)."""
    tmp = tmp_path_factory.mktemp("book")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IL6REPRO_BUILD", str(tmp / "build"))
        mp.setenv("IL6REPRO_FIGURES_DIR", str(tmp / "figures"))
        assert run("default", notebooks_dir=_tiny(tmp / "nbs"), progress=False, **QUIET).ok
        yield {"site": build_site(**QUIET), "build": tmp / "build"}


@pytest.fixture
def site(book, monkeypatch):
    monkeypatch.setenv("IL6REPRO_BUILD", str(book["build"]))
    monkeypatch.setenv("IL6REPRO_FIGURES_DIR", str(book["build"].parent / "figures"))
    return book["site"]


# ------------------------------------------------------------------------------------------------ sources
def test_paper_carries_every_published_number():
    """Every claim of both abstracts is on the paper page through the {claim} role (none typed by hand)."""
    paper = (ROOT / "book" / "paper.md").read_text()
    used = set(re.findall(r"\{claim\}`([^`]+)`", paper))
    assert used == set(load_claims())


def test_no_unit_follows_a_claim_badge():
    """A claim renders as a badge (published → reproduced, status), so a unit after it read "62.9 → 63.1 ✓ years";
    the unit goes before the badge ("mean age in years: ...")."""
    text = re.sub(r"\s+", " ", (ROOT / "book" / "paper.md").read_text())
    after = re.findall(r"\{claim\}`[^`]+`\s*(years|year|%|per cent|mm|participants)\b", text)
    assert not after, after


def test_the_gallery_knows_the_papers_figure_labels():
    """The gallery links each figure the paper shows to its number there; every figure the paper cites by
    {numref} is one of its own run figures."""
    from il6repro.book import paper_figure_labels

    labels = paper_figure_labels(ROOT / "book" / "paper.md")
    assert labels["02_manhattan.png"] == "fig-manhattan" and labels["07_forest.png"] == "fig-forest"
    cited = set(re.findall(r"\{numref\}`(fig-[^`]+)`", (ROOT / "book" / "paper.md").read_text()))
    assert cited and cited <= set(labels.values()), cited - set(labels.values())


def test_book_pages_include_the_readme_between_markers():
    """The rerun and data pages include the README's sections by {include} between markers: each marker pair is in
    the README once, in order, around the text the pages promise."""
    readme = (ROOT / "README.md").read_text()
    included = {}
    for page in ("rerun.md", "data.md"):
        src = (ROOT / "book" / page).read_text()
        for start, end in re.findall(r":start-after: (.+)\n:end-before: (.+)\n", src):
            assert readme.count(start) == 1 and readme.count(end) == 1, (page, start)
            included[start] = readme[readme.index(start) + len(start):readme.index(end)]
            assert included[start].strip(), (page, start)
    text = "".join(included.values())
    for words in ("papermill notebooks/02_mr_scan.ipynb", "-p seed=$s", "Parameters are typed", "--help-notebook",
                  "il6repro run -p gene=IL6ST", "Whitehall II real extract", "UK Biobank real extract"):
        assert words in text, words


def test_extract_layouts_name_every_column_the_loaders_read():
    """The data page's layouts come from the files the loaders read: every column a Whitehall extract must have,
    every columns.yaml key and IDP of a UK Biobank one, the dosages' variants."""
    from il6repro.twins import ukb, whitehall

    wh = whitehall.layout()
    named = [c for cell in wh["columns in the file"] for c in cell.split(", ")]
    assert sorted(named) == sorted(whitehall.required_columns()) and len(named) == len(set(named))
    assert wh.set_index("column").loc["il6_p<p>", "columns in the file"] == "il6_p3, il6_p5, il6_p7"
    uk = ukb.layout()
    assert set(ukb.column_mapping()) == set(uk["key"]) - {""}
    idps = uk[uk["holds"].str.contains("imaging visit;")]
    assert sum(int(re.search(r"; (\d+) columns", h).group(1)) for h in idps["holds"]) == len(ukb.idp_table())
    assert "66 columns, fields 26756-26788, 26857-26889" in idps["holds"].iloc[-1]
    assert f"each of the {len(ukb.instruments())} instrument variants" in uk["holds"].iloc[-1]



def test_receipts_show_wall_time_and_memory_as_a_reader_reads_them():
    """The receipts page printed the recorded 16.08 s and 1547.7 MB, which wrapped in their columns ("16.0 / 8")."""
    from il6repro.book import _measure

    assert _measure(16.08, "{:.1f}") == "16.1" and _measure(1547.7, "{:,.0f}") == "1,548"
    assert _measure(None, "{:.1f}") == "" and _measure(float("nan"), "{:.1f}") == ""
    assert _measure("?", "{:.1f}") == "?"  # anything else is shown as it is

def test_sweep_table_names_the_choices_a_conclusion_differs_under():
    """The sweep page's table was 27 choice columns of yes / no, scrolling sideways past the figure that shows the
    same grid; it now names, per conclusion, the shorter list: the choices it fails under or those it only holds
    under."""
    from docutils import nodes

    from il6repro.book import _sweep_rows

    cols = ["conclusion", "holds under", "twin power (over seeds)", "seed = 1", "seed = 2", "cut = a", "cut = b"]
    recs = [{"conclusion": "W: IL-6 -> MTG", "holds under": "3 of 4 runs", "seed = 1": "yes", "seed = 2": "no",
             "cut = a": "yes", "cut = b": "yes"},
            {"conclusion": "W: IL-6 -> ITG", "holds under": "1 of 4 runs", "seed = 1": "no", "seed = 2": "yes",
             "cut = a": "no", "cut = b": "no"},
            {"conclusion": "V: low IL-6", "holds under": "all runs", "seed = 1": "yes", "seed = 2": "yes",
             "cut = a": "", "cut = b": None},
            {"conclusion": "V: falls", "holds under": "", "seed = 1": "", "seed = 2": None}]
    head, rows = _sweep_rows(cols, recs)
    assert head == ["conclusion", "holds under", "twin power (over seeds)", "where the choices differ"]
    text = [r[-1].astext() for r in rows]
    assert rows[0][0] == "W: IL-6 → MTG" and text[0] == "fails under: seed = 2"
    assert text[1] == "holds only under: seed = 2"
    assert text[2] == "holds under every choice" and text[3] == ""
    assert [n["classes"] for n in rows[0][-1].findall(nodes.inline) if n["classes"]] == [["sweep-no"]]


def test_references_cover_every_dataset_and_citation():
    from pybtex.database import parse_file

    from il6repro.data import default_catalog

    bib = parse_file(str(ROOT / "book" / "references.bib"), bib_format="bibtex")
    named = {d.strip() for e in bib.entries.values() for d in e.fields.get("datasets", "").split(",") if d.strip()}
    assert set(default_catalog().manifests) <= named, set(default_catalog().manifests) - named
    cited = {k.strip() for page in (ROOT / "book").glob("*.md")
             for keys in re.findall(r"\{cite:p\}`([^`]+)`", page.read_text()) for k in keys.split(",")}
    assert cited <= set(bib.entries), cited - set(bib.entries)
    for key in ("williams2022", "virtanen2015", "hawrylycz2012", "desikan2006", "makris2006", "szklarczyk2023",
                "hemani2018", "yavorska2017", "alexanderbloch2018"):
        assert key in cited, key


def test_numbers_in_the_abstracts_own_style():
    claims = load_claims()
    assert printed_style(4.70, "fusiform gyrus (z = 4.70; P = 2.60 x 10^-7)") == ("fixed", 2, False)
    assert printed_style(2.60e-7, "fusiform gyrus (z = 4.70; P = 2.60 x 10^-7)") == ("sci", 2, False)
    assert claim_display(claims["W.mr.il6.gmv_fusiform.z"], {"value": 5.8312}) == ("4.70", "5.83")
    assert claim_display(claims["W.mr.il6.gmv_fusiform.p"], {"value": 5.43e-9}) == ("2.60 × 10⁻⁷", "5.43 × 10⁻⁹")
    assert claim_display(claims["W.ukb.n"], {"value": 20688.0}) == ("20,688", "20,688")
    # the abstract printed "2419 GHQ-cases" bare: a count of 1,000 or more reads thousands separated all the same
    # (the paper showed "2419 → 2419"); small whole numbers, decimals and P values keep the abstract's style
    assert claim_display(claims["V.n_cases"], {"value": 2419.0}) == ("2,419", "2,419")
    assert claim_display(claims["V.age_min"], {"value": 39.0}) == ("39", "39")
    assert claim_display(claims["V.rr_repeated"], {"value": 1.193, "ci": [0.987, 1.44]}) == \
        ("1.21 (1.03–1.41)", "1.19 (0.99–1.44)")
    assert claim_display(claims["V.il6_change_with_resolution"], {"value": -0.2, "ci": [-0.31, -0.1]}) == \
        ("negative", "-0.2 (-0.31 to -0.1)")
    assert claim_display(claims["W.mr.il1.null"], {"value": 0.0123}) == ("none below 1.1 × 10⁻⁴", "0.0123")
    assert claim_display(claims["W.ahba.enrich_scz.q"], {}) == ("< 0.05", "—")
    # a number judged by rounding to the paper's figures shows one more, so the rounding is visible (the paper read
    # "1.1 × 10⁻⁴ → 4.9 × 10⁻⁵" beside tables writing 4.88e-5); fixed decimals stay the paper's (6.5, not 6.50)
    assert claim_display(claims["W.mr.threshold"], {"value": 0.05 / 1025}) == ("1.1 × 10⁻⁴", "4.88 × 10⁻⁵")
    assert claim_display(claims["V.followup_mean"], {"value": 6.4987}) == ("6.5", "6.5")


def test_ledger_rows_show_fields_they_do_not_know(isolated, monkeypatch):
    """A field another part of the project adds to a record (or its extra dict) reaches the book's ledger."""
    res = isolated["build"] / "results"
    res.mkdir(parents=True)
    (res / "07_whitehall_resolution.json").write_text(json.dumps({"notebook": "07_whitehall_resolution", "records": {
        "V.rr_repeated": {"value": 1.2, "ci": [1.0, 1.4], "kind": "planted_twin", "note": "", "cell": 9,
                          "reviewed_by": "lab", "conclusion_verdict": "holds", "extra": {"twin_power": 0.41}}}}))
    columns, rows = ledger_rows({}, {})
    assert columns[-2:] == ["reviewed_by", "twin_power"]
    row = next(r for r in rows if r["claim"] == "V.rr_repeated")
    assert row["reviewed_by"] == "lab" and row["twin_power"] == 0.41 and row["cell"] == 9
    # a field compare() computes is the ledger's verdict, never overwritten by a record's copy of it
    assert row["conclusion_verdict"] == "does not hold"  # CI 1.0-1.4 does not lie above 1


def test_a_twin_claim_judged_over_seeds_shows_the_median_beside_the_draw(isolated, monkeypatch):
    """The paper printed '1.15 (1.06-1.25) -> 1.26 (1.17-1.36) recovered' (this draw outside the published CI, the
    status from 200 seeds): the median the status was judged on now stands beside the draw."""
    import numpy as np

    from il6repro import ledger
    from il6repro.book import reproduced_text

    monkeypatch.setenv("IL6REPRO_RESULTS_DIR", str(isolated["build"] / "results"))
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "07_whitehall_resolution")
    ledger.record("V.rr_low_vs_high.agesex", 1.262, ci=(1.172, 1.358), kind="planted_twin")
    rr = 1.15 * np.exp(np.random.default_rng(3).normal(0, 0.04, 200))
    ledger.record_distribution("V.rr_low_vs_high.agesex", ledger.distribution(
        "V.rr_low_vs_high.agesex", rr, [(x * 0.93, x * 1.08) for x in rr], seeds=range(1, 201)))
    _, rows = ledger_rows({}, {})
    row = next(r for r in rows if r["claim"] == "V.rr_low_vs_high.agesex")
    assert row["reproduced_display"] == "1.26 (1.17–1.36)"
    lo, hi = np.quantile(rr, [0.025, 0.975])
    assert hi < 1.262  # this draw lies above the seeds' central 95%: said so, with the range
    assert reproduced_text(row) == (f"1.26 (1.17–1.36) (this draw, outside the central 95% of 200 seeds, "
                                    f"{lo:.2f}–{hi:.2f}; median {np.median(rr):.2f})")
    ledger.record("V.rr_low_vs_high.agesex", 1.16, ci=(1.08, 1.25), kind="planted_twin")  # a typical draw
    row = next(r for r in ledger_rows({}, {})[1] if r["claim"] == "V.rr_low_vs_high.agesex")
    assert reproduced_text(row) == f"1.16 (1.08–1.25) (this draw; median of 200 seeds {np.median(rr):.2f})"
    other = next(r for r in rows if r["claim"] == "W.ukb.n")  # not recorded / not a twin draw: unchanged
    assert "this draw" not in reproduced_text(other)
    # a twin claim never judged over seeds (the null exposures) says it rests on this draw alone
    ledger.record("W.mr.crp.null", 0.0101, kind="planted_twin")
    null = next(r for r in ledger_rows({}, {})[1] if r["claim"] == "W.mr.crp.null")
    assert reproduced_text(null).endswith("(this draw only; not judged over seeds)")


def test_claim_without_its_dataset_says_not_checked(isolated):
    receipts = {"06_enrichment": {"notebook": "06_enrichment",
                                  "datasets_unavailable": {"disgenet_gmt": "no source"}}}
    _cols, rows = ledger_rows({}, receipts)
    row = next(r for r in rows if r["claim"] == "W.ahba.enrich_scz.q")
    assert row["status"] == "not yet attempted" and row["display_status"] == "not checked"
    assert row["display_reason"] == "not checked: 06 ran without DisGeNET disease gene sets"
    assert next(r for r in rows if r["claim"] == "W.ukb.n")["display_status"] == "not yet attempted"


# ------------------------------------------------------------------------------------------------ the build
def test_no_page_links_an_empty_index(site):
    """A reader's review: every page's head linked genindex.html, an index with no entries."""
    assert not (site / "genindex.html").exists()
    assert not [p.name for p in site.glob("*.html") if "genindex" in p.read_text()]


def test_the_downloadable_ledger_says_what_the_page_says(site):
    """ledger.csv's `status` read 'not yet attempted' where the page said 'not checked', and cells read 5.0."""
    import pandas as pd

    led = pd.read_csv(next(site.glob("_downloads/*/ledger.csv")), dtype={"cell": str})
    assert {"status", "reason", "ledger_status", "ledger_reason"} <= set(led.columns)
    html = (site / "ledger.html").read_text()
    for r in led.dropna(subset=["status"]).itertuples():
        assert r.status in html
    cells = led["cell"].dropna()
    assert len(cells) and cells.str.fullmatch(r"\d+").all()
    raw = pd.read_csv(next(site.glob("_downloads/*/ledger.csv")), dtype=str).set_index("claim")
    assert raw.loc["W.ukb.n", "published"] == "20688"  # not 20688.0
    assert raw.loc["V.il6_change_with_resolution", "published_display"] == "negative"  # what -1 stands for


def test_book_structure_and_skip(site, book):
    assert site == site_dir() == book["build"] / "book" / "html"
    for page in ("index.html", "paper.html", "ledger.html", "gallery.html", "methods.html", "receipts.html",
                 "sweep.html", "data.html", "rerun.html", "teaching.html", "search.html", "searchindex.js",
                 "notebooks/01_tiny.html", "notebooks/02_second.html", "_images/tiny_line.png",
                 "_sources/notebooks/01_tiny.ipynb"):
        assert (site / page).is_file(), page
    nb = (site / "notebooks" / "01_tiny.html").read_text()
    assert "Tiny OK notebook" in nb and "done 3" in nb
    for page in site.rglob("*.html"):  # offline: nothing loaded from another host
        assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']https?://""", page.read_text()), page
    gallery = (site / "gallery.html").read_text()
    assert "tiny_line.png" in gallery and "parameters_sha256" in gallery and "notebooks/01_tiny.html" in gallery
    # provenance JSON is code, copyable, not typeset with curly quotes
    assert "“" not in gallery and re.search(r"data_sha256</p></td>\s*<td><p><code", gallery)
    # only the paper's figures are numbered (its text cites them); the gallery's continued the book-wide count
    assert "caption-number" not in gallery and "a line" in gallery
    receipts = _text(site / "receipts.html")
    assert "01_tiny" in receipts and "n=3" in receipts and '"n": 3' not in receipts  # as -p takes them
    index = (site / "index.html").read_text()
    assert "notebooks/01_tiny.html" in index and "paper.html" in index and "ledger.html" in index
    assert "rerun.html" in index  # the page for the reader who reruns the batch is in the table of contents
    rerun = _text(site / "rerun.html")  # the README's own text, included
    assert "papermill notebooks/02_mr_scan.ipynb out/02_seed$s.ipynb -p seed $s" in rerun and "-p seed=$s" in rerun
    data = _text(site / "data.html")  # both extracts' layouts, from data_manifest/
    for words in ("ukb_participants.csv", "22009-0.1 ... 22009-0.10", "ukb_instruments.raw", "stno",
                  "chronic_p3, chronic_p5, chronic_p7", "ghq_p3, ghq_p5, ghq_p7, ghq_p8, ghq_p9", "on_bad_ghq"):
        assert words in data, words
    stamp = (site / ".inputs.sha256").stat().st_mtime_ns
    build_site(**QUIET)
    assert (site / ".inputs.sha256").stat().st_mtime_ns == stamp, "unchanged inputs must not rebuild"
    assert not list(site.parent.glob(".html-*"))


def test_every_notebook_page_shows_the_figures_its_notebook_saved(site, book, tmp_path):
    """Each PNG a notebook saves (its receipt, by sha256) is an image on its page; a page that lost one, or that
    prints a path or an object address, stops the build."""
    from il6repro.site import _receipts, notebook_pages_missing_figures

    receipts = _receipts(book["build"])
    assert any(n.endswith(".png") for r in receipts.values() for n in r["figures"])
    assert notebook_pages_missing_figures(site, receipts) == []
    # the figure's alternative text is its caption, not the hashed file name MyST-NB gives it
    alts = re.findall(r'<img[^>]*\balt="([^"]*)"', (site / "notebooks" / "01_tiny.html").read_text())
    assert alts == ["a line"]
    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    page = copy / "notebooks" / "01_tiny.html"
    assert 'class="dataframe"' not in page.read_text()
    raw_table = '<table border="1" class="dataframe"><tr><th>0</th><td>0.123456</td></tr></table>'
    page.write_text(re.sub(r"<img[^>]+>", "", page.read_text()).replace("</main>", f"PosixPath('/x'){raw_table}</main>"))
    problems = notebook_pages_missing_figures(copy, receipts)
    assert problems == ["01_tiny: 1 figure(s) not shown: tiny_line.png", "01_tiny: raw output on the page ('PosixPath(')",
                        "01_tiny: 1 pandas table(s) not formatted by report.table"]


def test_paper_numbers_follow_the_run_and_the_teaching_slot(isolated, tiny_notebooks, monkeypatch, tmp_path):
    """The paper shows published -> reproduced from the ledger, links the ledger row and the notebook cell, and
    changes when a parameter changes and the book is rebuilt. Pages in book/teaching/ and files in build/teaching/
    appear in the Teaching section."""
    assert run("default", notebooks_dir=tiny_notebooks, progress=False, **QUIET).ok
    site = build_site(**QUIET)
    paper = (site / "paper.html").read_text()
    ledger = (site / "ledger.html").read_text()
    cell = _cell_of(isolated["build"] / "notebooks" / "01_tiny.ipynb", "W.ahba.n_donors")
    assert re.search(r'href="ledger.html#claim-w-ahba-n-donors"[^>]*>6 → 3<', paper)
    assert f'href="notebooks/01_tiny.html#cell-{cell}"' in paper
    assert f'id="cell-{cell}"' in (site / "notebooks" / "01_tiny.html").read_text()
    row = ledger[ledger.index('id="claim-w-ahba-n-donors"'):][:4000]
    assert "not reproduced" in row and "3 differs from 6" in row and "tiny test" in row
    assert "not yet attempted" in paper  # claims no notebook recorded say so
    # the count says where the numbers come from (one claim is a press summary's, not an abstract's)
    n = len(load_claims())
    assert f"{n} published numbers, from the two abstracts and 1 claim of a press summary:" in paper
    assert 'class="ledger-summary' in paper
    assert "Student notebooks" in (site / "index.html").read_text()
    assert "have not been built" in (site / "teaching.html").read_text()

    assert run("default", ["n=6"], only=["01"], notebooks_dir=tiny_notebooks, progress=False, **QUIET).ok
    teaching = isolated["build"] / "teaching"
    (teaching / "student").mkdir(parents=True)
    (teaching / "autograder").mkdir()
    (teaching / "student" / "10_teaching_mr.ipynb").write_text((tiny_notebooks / "02_second.ipynb").read_text())
    (teaching / "autograder" / "10_teaching_mr-autograder.zip").write_bytes(b"hidden checks")
    book_src = tmp_path / "book"
    shutil.copytree(ROOT / "book", book_src)
    (book_src / "teaching" / "instructor.md").write_text("# Instructor guide\n\nHow to run the exercises.\n")
    monkeypatch.setattr("il6repro.site.book_dir", lambda: book_src)
    build_site(**QUIET)
    paper = (site / "paper.html").read_text()
    assert re.search(r'href="ledger.html#claim-w-ahba-n-donors"[^>]*>6 → 6<', paper)
    assert "6 → 3" not in paper
    row = (site / "ledger.html").read_text()
    row = row[row.index('id="claim-w-ahba-n-donors"'):][:4000]
    assert "reproduced on real data" in row and "6 equals 6" in row
    page = (site / "teaching.html").read_text()
    assert "10_teaching_mr.ipynb" in page and "_downloads/" in page
    assert "autograder.zip" not in page  # the hidden checks are never published
    assert (site / "teaching" / "instructor.html").is_file()
    assert "teaching/instructor.html" in (site / "index.html").read_text()


@pytest.mark.slow
def test_paper_follows_a_rerun_with_another_twin_seed(isolated):
    """Notebook 07 on the quick profile with two Whitehall twin seeds: the paper, the ledger and the PDF show each
    run's numbers (read from the ledger, never typed)."""
    shown = []
    for seed in (19850101, 7):
        assert run("quick", [f"seed={seed}"], only=["07"], progress=False, **QUIET).ok
        site = build_site(**QUIET)
        _cols, rows = ledger_rows({}, {})
        rows = {r["claim"]: r for r in rows}
        paper = (site / "paper.html").read_text()
        for cid in ("V.rr_low_vs_high.agesex", "V.rr_low_vs_high.full", "V.n_cases", "V.followup_mean"):
            assert rows[cid]["reproduced_display"] != "—"
            assert f">{rows[cid]['published_display']} → {rows[cid]['reproduced_display']}<" in paper, cid
        assert "07_forest.png" in paper and "Figure 1" in paper
        shown.append(rows["V.rr_low_vs_high.agesex"]["reproduced_display"])
        if shutil.which("chromium") and shutil.which("pdftotext"):
            text = _pdf_text(site / "paper.pdf")
            assert rows["V.rr_low_vs_high.agesex"]["reproduced_display"] in text
            assert "Risk ratios of symptom resolution" in text and "Figure 1" in text
    assert shown[0] != shown[1], "a new twin seed must change the paper's numbers"


# ------------------------------------------------------------------------------------------------ browser
@pytest.mark.browser
def test_book_in_headless_chromium(site, tmp_path):
    _browser_or_skip()
    shot = tmp_path / "index.png"
    rep = check_site(site, screenshot=shot)
    assert rep.ok, rep.problems
    assert set(rep.pages) >= {"index.html", "paper.html", "ledger.html", "gallery.html", "receipts.html",
                              "methods.html", "sweep.html", "data.html", "notebooks/01_tiny.html",
                              "notebooks/02_second.html"}
    assert rep.images >= 1 and rep.links >= 50
    assert rep.searches["fusiform"] and rep.searches["Whitehall"]
    assert shot.is_file() and shot.read_bytes()[:4] == b"\x89PNG"
    assert any("tiny" in t.lower() for t in search(site, "tiny"))
    # a reader's review: result summaries began "System Settings Light Dark" (the theme switcher in the page header)
    from il6repro.sitecheck import search_summaries

    sums = search_summaries(site, "tiny")
    assert sums and not [t for t in sums if "System Settings" in t or "Light Dark" in t], sums
    # and kept the pages' line breaks and table indentation as runs of blank space
    assert not [t for t in sums if "\n" in t or "  " in t], sums
    # and highlighted "IL-6" inside words (the "il" of "built", "file"): whole words only
    from il6repro.sitecheck import _browser, _search_on, _serve

    with _browser() as browser, _serve(site) as base:
        page = browser.new_page()
        _search_on(page, base, "IL-6")
        page.wait_for_timeout(2500)
        marks = page.evaluate("[...document.querySelectorAll('#search-results span.highlighted')].map(e => "
                              "[(e.previousSibling?.textContent || ' ').slice(-1), e.textContent, "
                              "(e.nextSibling?.textContent || ' ').slice(0, 1)])")
    assert marks and not [m for m in marks if re.match(r"\w", m[0]) or re.match(r"\w", m[2])], marks


@pytest.mark.browser
def test_ledger_fits_1400px_and_filters(site):
    """At 1400 px the ledger's columns are all on screen; the filters show one study / one status; a click opens a
    row's details (the source sentence)."""
    _browser_or_skip()
    from il6repro.sitecheck import WIDTH, _browser, _serve

    claims = load_claims()
    with _browser() as browser, _serve(site) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.goto(base + "ledger.html", wait_until="load")
        right = page.evaluate("Math.max(...[...document.querySelectorAll('table.ledger-table th')]"
                              ".map(e => e.getBoundingClientRect().right))")
        assert right <= WIDTH, f"the ledger is {right:.0f} px wide"
        visible = "document.querySelectorAll('tr.ledger-row:not([style*=\"none\"])').length"
        assert page.evaluate(visible) == len(claims)
        page.select_option(".ledger-filter select >> nth=0", "V")
        assert page.evaluate(visible) == sum(c.study == "V" for c in claims.values())
        page.select_option(".ledger-filter select >> nth=0", "all")
        options = page.eval_on_selector_all(".ledger-filter select >> nth=1 >> option", "os => os.map(o => o.value)")
        assert options == ["all", "not reproduced", "not yet attempted"]  # the statuses present
        page.select_option(".ledger-filter select >> nth=1", "not reproduced")
        assert page.evaluate(visible) == 1  # the tiny run's one claim
        page.select_option(".ledger-filter select >> nth=1", "not yet attempted")
        assert page.evaluate(visible) == len(claims) - 1
        page.select_option(".ledger-filter select >> nth=1", "not reproduced")
        row = page.locator("#claim-w-ahba-n-donors")
        assert "six neurotypical" in row.get_attribute("title")
        assert not page.locator("#claim-w-ahba-n-donors .claim-more").is_visible()
        row.locator("td >> nth=1").click()
        assert page.locator("#claim-w-ahba-n-donors .claim-more").is_visible()
        # a phone (a reader's review: the ledger scrolled sideways at 72rem): one card per claim, fields labelled
        phone = browser.new_page(viewport={"width": 400, "height": 800})
        phone.goto(base + "ledger.html", wait_until="load")
        right = phone.evaluate("document.querySelector('table.ledger-table').getBoundingClientRect().right")
        assert right <= 400 and phone.evaluate("document.documentElement.scrollWidth") <= 400, right
        label = phone.evaluate("getComputedStyle(document.querySelector('#claim-w-ahba-n-donors > td:nth-child(5)'),"
                               " '::before').content")
        assert label == '"Reproduced: "'
        # and the consistency table's columns were off-screen in its scroll box (784 px in 368): cards as well
        box = phone.evaluate("document.querySelector('table.consistency-table').getBoundingClientRect().right")
        cell = "document.querySelector('table.consistency-table tbody td:nth-child(3)')"
        assert box <= 400 and phone.evaluate(f"{cell}.dataset.label") == "implied", box


@pytest.mark.browser
def test_paper_pdf(site):
    _browser_or_skip()
    text = _pdf_text(site / "paper.pdf")
    assert "reproducing two studies" in text and "The data boundary" in text
    assert "6 → 3" in text  # the tiny run's number, with its published value
    assert "Williams" in text and "References" in text
    # the printed paper drops a claim's cell link; the space before it went too ("conclusion holds ; Figure 4")
    assert not re.search(r"(holds|seeds|twin|data|design|input\)) [;),.]", text)
    # its links into the book are relative to the PDF (it sits at the book's root), not to the temporary server it
    # was printed from (81 of 119 links pointed at http://127.0.0.1:<port>/)
    from pypdf import PdfReader

    uris = [a.get_object()["/A"]["/URI"] for p in PdfReader(str(site / "paper.pdf")).pages
            for a in p.get("/Annots") or [] if "/URI" in (a.get_object().get("/A") or {})]
    assert any(u.startswith("ledger.html#claim-") for u in uris)
    assert not [u for u in uris if "127.0.0.1" in u or "localhost" in u]
    title = PdfReader(str(site / "paper.pdf")).metadata["/Title"]  # "... — IL-6 and the brain" was appended
    assert "reproducing two studies" in title and " — " not in title


@pytest.mark.browser
def test_browser_check_catches_broken_links_images_and_leaks(site, tmp_path):
    _browser_or_skip()
    broken = tmp_path / "broken"
    shutil.copytree(site, broken)
    (broken / "_images" / "tiny_line.png").write_bytes(b"not a png")
    index = broken / "index.html"
    index.write_text(index.read_text().replace("</article>", "<a href='missing.html'>x</a><a href='paper.html#nowhere'>"
                                               "y</a><img src='https://example.org/x.png'></article>", 1))
    rep = check_site(broken, search_words=())
    assert not rep.ok
    text = "\n".join(rep.problems)
    assert "broken link: missing.html" in text
    assert "missing anchor #nowhere" in text
    assert "image did not load" in text
    assert "request leaves localhost: https://example.org/x.png" in text


@pytest.mark.browser
def test_browser_check_finds_notebook_tables_wider_than_their_column_at_1280px(site, tmp_path):
    """A notebook page's output table that scrolls at 1280 px is a problem naming the page, the table (its id, its
    first headers, its cell) and by how much; a table that fits is not; table_width=None leaves tables unchecked."""
    _browser_or_skip()
    from il6repro.sitecheck import TABLE_WIDTH

    wide = tmp_path / "wide"
    shutil.copytree(site, wide)
    page = wide / "notebooks" / "01_tiny.html"

    def output(uuid: str, cells: int, px: int) -> str:
        heads = "".join(f"<th>column {i}</th>" for i in range(cells))
        row = "".join(f"<td><div style='width: {px}px'>{i}</div></td>" for i in range(cells))
        return (f"<div class='cell docutils container' id='cell-{cells}'><div class='cell_output docutils container'>"
                f"<div class='output text_html'><table id='T_{uuid}'><thead><tr>{heads}</tr></thead>"
                f"<tbody><tr>{row}</tr></tbody></table></div></div></div>")

    # the tiny page's column (no table of contents beside it) is 1,024 px wide at 1280 px: 5 cells of 120 px (~660 px
    # with padding) fit it, 5 of 220 px (~1,160 px) do not
    page.write_text(page.read_text().replace("</article>", output("narrow", 5, 120) + output("wide-one", 5, 220)
                                             + "</article>", 1))
    rep = check_site(wide, search_words=())
    over = [p for p in rep.problems if "wider than its column" in p]
    assert len(over) == 1 and rep.tables == 2, rep.problems
    assert over[0].startswith("notebooks/01_tiny.html: table T_wide-one (headers column 0, column 1, column 2, "
                              "column 3, ...) in #cell-5 is ")
    assert f"px wider than its column at {TABLE_WIDTH} px" in over[0]
    assert not [p for p in check_site(wide, search_words=(), table_width=None).problems if "wider" in p]
    assert check_site(site, search_words=()).tables == 0  # the tiny notebooks print no tables


def test_a_teaching_chapter_says_it_is_the_instructor_version(tmp_path):
    """A student landing on a teaching chapter saw the answers with no word that this is the instructor version:
    the book's copy has the banner below the title, and otter's raw delimiter cells are left out."""
    from il6repro.site import INSTRUCTOR_BANNER, _without_raw_cells

    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Unit 1"},
                    {"cell_type": "raw", "metadata": {}, "source": "# BEGIN QUESTION"},
                    {"cell_type": "code", "metadata": {"tags": ["solution"]}, "source": "x = 1", "outputs": [],
                     "execution_count": 1}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "10_teaching_demo.ipynb"
    path.write_text(json.dumps(nb))
    out = json.loads(_without_raw_cells(path))
    assert [c["cell_type"] for c in out["cells"]] == ["markdown", "markdown", "code"]
    assert out["cells"][1]["source"] == INSTRUCTOR_BANNER and "Instructor version" in INSTRUCTOR_BANNER
    assert "/teaching" in INSTRUCTOR_BANNER  # where the student version is
    assert "site --students" in INSTRUCTOR_BANNER  # how to build the course site without these chapters


def test_a_paper_figure_made_from_a_twin_says_so_from_its_provenance():
    """The paper's Figure 1 (02's Manhattan plot, from the twin) had no word that its data were synthetic, and its
    Figures 2, 6 and 7 said "(UK Biobank twin)" by hand, which a run on a real extract would have left standing."""
    from types import SimpleNamespace

    from docutils import nodes

    from il6repro.book import _figure_node

    directive = SimpleNamespace(state=SimpleNamespace(inline_text=lambda t, _l: ([nodes.Text(t)], [])), lineno=1)
    twin = {"provenance": {"caption": "Every test. Synthetic data (UK Biobank twin), not real participants.",
                           "synthetic_data": "Synthetic data (UK Biobank twin), not real participants."}}
    assert _figure_node(directive, "02_manhattan.png", "Every test of the scan.", twin).astext().endswith(
        "Every test of the scan. Synthetic data (UK Biobank twin), not real participants.")
    real = {"provenance": {"caption": "Every test."}}  # a real extract's run: nothing added
    assert _figure_node(directive, "02_manhattan.png", "Every test of the scan.", real).astext().endswith(
        "Every test of the scan.")


def test_a_dirty_checkout_stays_visible_on_the_receipts_page():
    """The receipts page cut the commit to 12 characters, dropping the '+dirty' the figures' provenance kept."""
    from il6repro.book import short_commit

    sha = "048236ccb86b2d0f0f5f3b5e1c6f1d2c3b4a5e6f"
    assert short_commit(sha) == "048236ccb86b" and short_commit(sha + "+dirty") == "048236ccb86b+dirty"
    assert short_commit("unknown") == "unknown" and short_commit(None) == ""


def test_the_summary_says_why_claims_are_not_reproduced():
    """'10 not reproduced' read as a quarter of the paper failing: 7 are twin claims with the planted number
    recovered, 4 of them where the paper's printed z itself misses its threshold and 3 where the twin's power is
    short; a first split called all 7 'a limit of the twin'."""
    from il6repro.book import not_reproduced_parts

    nr, twin = "not reproduced", "planted_twin"
    rows = ([{"display_status": nr, "kind": "real_data", "value_verdict": "no", "claim": "W.ahba.enrich_asd.q"}] * 2
            # the printed z 3.38 gives P 7.2e-4, short of the paper's 1.1e-4 (its P claim is judged by that z)
            + [{"display_status": nr, "kind": twin, "value_verdict": "yes", "claim": c}
               for c in ("W.mr.il6.gmv_itc.z", "W.mr.il6.gmv_itc.p")]
            # the printed z 4.70 reaches it: the twin's power is what falls short
            + [{"display_status": nr, "kind": twin, "value_verdict": "yes", "claim": "W.mr.il6.gmv_fusiform.z"}]
            + [{"display_status": nr, "kind": twin, "value_verdict": "no", "claim": "V.rr_repeated"}]
            + [{"display_status": "recovered from a planted twin", "kind": twin, "value_verdict": "yes",
                "claim": "W.mr.il6.gmv_mtg.z"}])
    parts = not_reproduced_parts(rows)
    assert [p.split(" ", 1)[0] for p in parts] == ["2", "2", "1", "1"]
    assert parts[0].startswith("2 on real data") and "own printed number does not reach" in parts[1]
    assert "power is below the 80% bar" in parts[2] and "itself is not recovered" in parts[3]
    assert not_reproduced_parts(rows[-1:]) == []


def test_the_students_edition_leaves_out_every_instructor_page(isolated, tiny_notebooks):
    """An instructor could only publish the book with the teaching chapters' solutions in it (the banner said to
    leave chapters 10-12 out, with no way to). `site --students` builds the course site without them: no instructor
    chapter, instructor page or solution in any page or in the search index, the student files offered for download;
    the full book beside it keeps them."""
    write_notebook(tiny_notebooks / "03_teaching_demo.ipynb", [
        ("md", "# Teaching demo"), ("params", "k = 1"),
        ("code", "answer = 'zanzibarsolution' * k  # the solution\nprint(answer)")])
    assert run("default", notebooks_dir=tiny_notebooks, progress=False, **QUIET).ok
    student = isolated["build"] / "teaching" / "student"
    student.mkdir(parents=True)
    (student / "03_teaching_demo.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                                "nbformat_minor": 5}))
    full = build_site(pdf=False, **QUIET)
    students = build_site(pdf=False, edition="students", **QUIET)
    assert full == site_dir() and students == site_dir("students") == isolated["build"] / "book-students" / "html"
    assert (full / "notebooks" / "03_teaching_demo.html").is_file() and (full / "teaching" / "index.html").is_file()
    assert "zanzibarsolution" in (full / "notebooks" / "03_teaching_demo.html").read_text()
    assert "Teaching demo" in (full / "searchindex.js").read_text()
    assert not (students / "notebooks" / "03_teaching_demo.html").exists()
    assert not (students / "teaching").exists() and (students / "notebooks" / "01_tiny.html").is_file()
    for page in [*students.rglob("*.html"), students / "searchindex.js", *students.rglob("*.txt")]:
        text = page.read_text()
        assert "zanzibarsolution" not in text and "Instructor version" not in text and "Teaching demo" not in text, page
        assert "teaching/index" not in text and "03_teaching_demo.html" not in text, page
    page = (students / "teaching.html").read_text()
    assert "03_teaching_demo.ipynb" in page and "_downloads/" in page and "grader.check" in page
    assert "instructor version" not in _text(students / "teaching.html").lower()
    with pytest.raises(ValueError, match="edition must be one of full, students, not 'teachers'"):
        build_site(edition="teachers", **QUIET)


def test_a_site_of_an_empty_build_is_refused_naming_what_to_run(isolated, tiny_notebooks):
    """A student review: `site --students --check` on a fresh build passed ("0 notebook(s)", 10 pages, 0 images) and
    published a course page saying the student versions were not built, without the study chapters."""
    from il6repro.site import SiteError

    with pytest.raises(SiteError, match=r"no executed notebook in .*receipts: run `python -m il6repro run` first, "
                                        r"then `python -m il6repro teach`"):
        build_site(pdf=False, edition="students", **QUIET)
    with pytest.raises(SiteError, match=r"no executed notebook in .*receipts: run `python -m il6repro run` first$"):
        build_site(pdf=False, **QUIET)  # the reader's book too (a review: a hollow book passed its check)
    assert not site_dir().exists()
    assert run("default", notebooks_dir=tiny_notebooks, progress=False, **QUIET).ok
    with pytest.raises(SiteError, match=r"no student notebooks in .*teaching/student: run `python -m il6repro teach`"):
        build_site(pdf=False, edition="students", **QUIET)
    assert not site_dir("students").exists()


def test_a_figures_data_digests_read_as_one_line_per_dataset():
    """The gallery showed each figure's data digests as one run of nested JSON ({"ahba_dk": {"atlas_regions_info.csv":
    "58b6..."}, ...}); a reader now gets one line per dataset, file names in words and digests as code."""
    from docutils import nodes

    from il6repro.book import _provenance_value

    out = _provenance_value({"ahba_dk": {"atlas_regions_info.csv": "58b623281e1d3fe7", "genes.csv": "350dda8555e347fc"},
                             "dk_fsaverage5": {"lh.label.gii.gz": "c79d790e8c55f695"}})
    assert isinstance(out, nodes.bullet_list) and len(out.children) == 2
    assert out.children[0].astext() == "ahba_dk: atlas_regions_info.csv 58b623281e1d3fe7; genes.csv 350dda8555e347fc"
    assert [n.astext() for n in out.findall(nodes.literal)] == ["58b623281e1d3fe7", "350dda8555e347fc",
                                                                  "c79d790e8c55f695"]
    assert isinstance(_provenance_value({"n": 3}), nodes.literal) and _provenance_value(1.5) == "1.5"


def test_a_book_built_without_its_pdf_is_rebuilt_to_print_it(isolated, tiny_notebooks):
    """`site --no-pdf` then `site` said "up to date" and kept a paper page whose PDF link was broken."""
    assert run("default", notebooks_dir=tiny_notebooks, progress=False, **QUIET).ok
    logs: list[str] = []
    build_site(pdf=False, log=logs.append)
    logs.clear()
    build_site(pdf=False, log=logs.append)
    assert any("up to date" in m for m in logs)
    logs.clear()
    build_site(pdf=True, log=logs.append)
    assert not any("up to date" in m for m in logs)


def test_a_changed_conf_starts_sphinx_afresh(tmp_path):
    """The references stayed in citation order after conf.py asked for them sorted by author: Sphinx kept the old
    doctrees, as the setting is not one it rebuilds for."""
    from il6repro.site import sphinx_build

    src, out, doctrees = tmp_path / "src", tmp_path / "html", tmp_path / "doctrees"
    src.mkdir()
    (src / "index.rst").write_text("Title\n=====\n\ntext\n")
    (src / "conf.py").write_text("project = 'a'\n")
    sphinx_build(src, out, doctrees, log=lambda *a: None)
    (doctrees / "marker").write_text("old")
    sphinx_build(src, out, doctrees, log=lambda *a: None)
    assert (doctrees / "marker").is_file()  # the same conf.py: doctrees kept (an incremental build)
    (src / "conf.py").write_text("project = 'b'\n")
    sphinx_build(src, out, doctrees, log=lambda *a: None)
    assert not (doctrees / "marker").exists() and (doctrees / "environment.pickle").is_file()


def test_references_are_sorted_by_author_without_numbers(site):
    """The text cites author-year; the list was in citation order (Williams, Virtanen, Sudlow ...) with numbers no
    citation used."""
    page = (site / "paper.html").read_text()
    refs = page[page.index('id="references"'):]
    firsts = re.findall(r'<div class="citation"[^>]*>.*?<p>([^<]{0,40})', refs, re.S)  # each entry's first author
    at = [next(i for i, f in enumerate(firsts) if name in f)
          for name in ("Alexander-Bloch", "Bowden", "Hawrylycz", "Sudlow", "Virtanen", "Williams", "Zou")]
    assert at == sorted(at), at
    css = (site / "_static" / "il6repro.css").read_text()
    assert "div.citation > span.label { display: none; }" in css
