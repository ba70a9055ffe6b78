"""The book in a real browser: headless Debian Chromium driven by Playwright.

:func:`check_site` serves the built book on 127.0.0.1, opens the index, follows every internal link (breadth
first), and on every page records console errors, failed or non-2xx requests, requests leaving localhost, images
that did not load, and links whose target does not exist (including ``#fragment`` targets); it also runs the book's
search, and opens every notebook page at 1280 px (:data:`TABLE_WIDTH`) to find tables wider than their column.
:func:`print_pdf` prints a page (the paper) to PDF, :func:`search` returns what the book's search finds,
and :func:`screenshots` takes full-page screenshots at a reader's width. ``python -m il6repro site --check`` prints
the report and exits non-zero on any problem.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urldefrag, urlparse

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
WIDTH = 1400  # a reader's screen; the ledger must fit it
TABLE_WIDTH = 1280  # a smaller laptop screen: no table of a notebook page may scroll (or stick out) at this width
SEARCH_WORDS = ("fusiform", "Whitehall")

# Every table of a page's article that is wider than its column: the table's scroll box (the notebook output's
# ``overflow-x: auto`` wrapper, the theme's scrollable-table container, or the parent) scrolls, or the table's right
# edge passes the article's. Each is named by its id (report.table's uuid, ``T_03-het``), its caption or its first
# headers, with the notebook cell it is in and the pixels it overflows by.
_OVERFLOWING_TABLES_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const edge = article.getBoundingClientRect().right;
  const found = [];
  const tables = [...article.querySelectorAll('table')];
  tables.forEach((t, i) => {
    const box = t.closest('.output, .pst-scrollable-table-container, .table-wrapper') || t.parentElement;
    const over = Math.max(box.scrollWidth - box.clientWidth, t.getBoundingClientRect().right - edge);
    if (over <= 1) return;
    const cap = t.querySelector('caption');
    const heads = [...t.querySelectorAll('thead th')].map(e => e.textContent.trim()).filter(x => x);
    const cell = t.closest('div.cell');
    const anchor = cell && (cell.id || (cell.querySelector('[id^=cell-]') || {}).id);
    found.push({n: i + 1, id: t.id || '', caption: cap ? cap.textContent.trim() : '', heads: heads,
                cell: anchor || '', over: Math.round(over)});
  });
  return {tables: tables.length, over: found};
}"""


class BrowserUnavailable(RuntimeError):
    """No Chromium binary or no Playwright driver."""


def chromium_path() -> str:
    """Path of the Chromium binary (``IL6REPRO_CHROMIUM`` overrides; Debian installs /usr/bin/chromium)."""
    for cand in (os.environ.get("IL6REPRO_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and Path(cand).exists():
            return cand
    raise BrowserUnavailable("chromium not found: install Debian's package (`apt-get install chromium`) or set "
                             "IL6REPRO_CHROMIUM")


@dataclass
class SiteReport:
    pages: list[str] = field(default_factory=list)
    images: int = 0
    links: int = 0
    problems: list[str] = field(default_factory=list)
    searches: dict[str, list[str]] = field(default_factory=dict)
    screenshot: Path | None = None
    tables: int = 0  # tables of notebook pages measured at TABLE_WIDTH

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.pages)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the access log
        pass


@contextlib.contextmanager
def _serve(site: Path):
    """Serve ``site`` on 127.0.0.1 (a free port); yield the base URL."""
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable("playwright (Python) is not installed") from exc
    exe = chromium_path()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _search_on(page, base: str, word: str, timeout_ms: int = 20000) -> list[str]:
    """Titles of the pages the book's own search (search.html, Sphinx's searchindex) lists for ``word``."""
    page.goto(base + "search.html?q=" + quote(word), wait_until="load")
    page.wait_for_selector("#search-results .search-summary", timeout=timeout_ms)
    return page.eval_on_selector_all("#search-results ul.search li > a", "els => els.map(e => e.textContent.trim())")


def _describe_table(t: dict) -> str:
    name = t["id"] or (f"captioned {t['caption'][:60]!r}" if t["caption"] else f"no. {t['n']} on the page")
    more = ", ..." if len(t["heads"]) > 4 else ""
    heads = f" (headers {', '.join(t['heads'][:4])}{more})" if t["heads"] else ""
    where = f" in #{t['cell']}" if t["cell"] else ""
    return f"table {name}{heads}{where}"


def overflowing_tables(page, width: int = TABLE_WIDTH) -> tuple[int, list[str]]:
    """Measure the page open in ``page`` (a Playwright page) at ``width`` px: the number of tables in its article,
    and one line for each table wider than its column (it scrolls horizontally or sticks out of the article).

    The viewport is left at ``width``; the caller restores it."""
    page.set_viewport_size({"width": width, "height": 900})
    found = page.evaluate(_OVERFLOWING_TABLES_JS)
    return found["tables"], [f"{_describe_table(t)} is {t['over']} px wider than its column at {width} px "
                             "(it scrolls)" for t in found["over"]]


def check_site(site: Path, screenshot: Path | None = None, max_pages: int = 300,
               search_words: tuple[str, ...] = SEARCH_WORDS, table_width: int | None = TABLE_WIDTH) -> SiteReport:
    """Crawl ``site`` in headless Chromium and report problems (see module docstring); each of ``search_words``
    must find at least one page. Every notebook page (a page with notebook output tables) is then opened at
    ``table_width`` px (None: not checked), and each of its tables wider than its column is a problem naming the
    page and the table (:func:`overflowing_tables`)."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site}/index.html does not exist: run `python -m il6repro site` first")
    report = SiteReport()
    with _browser() as browser, _serve(site) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        current = {"url": ""}
        page.on("console", lambda m: m.type == "error" and report.problems.append(
            f"{current['url']}: console error: {m.text}"))
        page.on("pageerror", lambda e: report.problems.append(f"{current['url']}: page error: {e}"))
        page.on("requestfailed", lambda r: report.problems.append(
            f"{current['url']}: request failed: {r.url} ({r.failure})"))

        def on_response(r):
            if r.status >= 400:
                report.problems.append(f"{current['url']}: HTTP {r.status} for {r.url}")

        def on_request(r):
            host = urlparse(r.url).hostname
            if r.url.startswith(("http://", "https://")) and host not in ("127.0.0.1", "localhost"):
                report.problems.append(f"{current['url']}: request leaves localhost: {r.url}")

        page.on("response", on_response)
        page.on("request", on_request)
        queue, seen, assets, notebook_pages = [base + "index.html"], set(), set(), []
        text_cache: dict[Path, str] = {}
        while queue and len(seen) < max_pages:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            current["url"] = url[len(base):]
            resp = page.goto(url, wait_until="load")
            if resp is None or resp.status >= 400:
                report.problems.append(f"{current['url']}: page did not load")
                continue
            report.pages.append(current["url"])
            if page.evaluate("!!document.querySelector('div.cell_output table')"):
                notebook_pages.append(url)
            imgs = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.getAttribute('src') || '', e.complete && e.naturalWidth > 0])")
            report.images += len(imgs)
            for src, loaded in imgs:
                if not loaded:
                    report.problems.append(f"{current['url']}: image did not load: {src[:80]}")
            hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
            for href in hrefs:
                report.links += 1
                target, frag = urldefrag(href)
                if not target.startswith(base):
                    if target.startswith(("http://", "https://", "mailto:")):
                        continue  # external links are allowed but not followed offline
                    report.problems.append(f"{current['url']}: link outside the site: {href}")
                    continue
                rel = target[len(base):].split("?", 1)[0] or "index.html"
                local = site / rel
                if local.is_dir():
                    local = local / "index.html"
                if not local.is_file():
                    report.problems.append(f"{current['url']}: broken link: {rel}")
                    continue
                if frag and local.suffix == ".html":
                    text = text_cache.setdefault(local, local.read_text(errors="replace"))
                    if f'id="{frag}"' not in text and f"id='{frag}'" not in text:
                        report.problems.append(f"{current['url']}: link to missing anchor #{frag} in {rel}")
                if local.suffix == ".html":
                    if target not in seen:
                        queue.append(target)
                elif target not in assets:
                    assets.add(target)
                    got = page.request.get(target)
                    if got.status >= 400:
                        report.problems.append(f"{current['url']}: asset {rel} returned {got.status}")
        if table_width:  # notebook tables must fit a smaller screen than the ledger's without scrolling
            # on a page of its own, without the crawl's request listeners: the crawl has checked every request,
            # and moving on to the next page aborts a favicon still loading (net::ERR_ABORTED), not a failure
            narrow = browser.new_page(viewport={"width": table_width, "height": 900})
            for url in notebook_pages:
                narrow.goto(url, wait_until="load")
                n, over = overflowing_tables(narrow, table_width)
                report.tables += n
                report.problems.extend(f"{url[len(base):]}: {line}" for line in over)
            narrow.close()
        for word in search_words:
            current["url"] = f"search.html?q={word}"
            try:
                found = _search_on(page, base, word)
            except Exception as exc:  # noqa: BLE001 - a timeout is a problem to report, not a crash
                report.problems.append(f"search for {word!r} did not finish: {exc}")
                continue
            report.searches[word] = found
            if not found:
                report.problems.append(f"search for {word!r} found nothing")
        if screenshot:
            current["url"] = "index.html"
            page.goto(base + "index.html", wait_until="load")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            report.screenshot = screenshot
    return report


def search(site: Path, word: str) -> list[str]:
    """Titles of the pages the built book's search finds for ``word`` (in headless Chromium)."""
    with _browser() as browser, _serve(Path(site)) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        return _search_on(page, base, word)


def search_summaries(site: Path, word: str) -> list[str]:
    """The summary text under each result of the built book's search for ``word`` (in headless Chromium)."""
    with _browser() as browser, _serve(Path(site)) as base:
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        _search_on(page, base, word)
        page.wait_for_timeout(1500)  # the summaries are filled in as each page is fetched
        return page.eval_on_selector_all("#search-results ul.search li p.context", "els => els.map(e => e.textContent)")


def screenshots(site: Path, pages: dict[str, str], out: Path, width: int = WIDTH, full_page: bool = False,
                height: int = 1000) -> dict[str, Path]:
    """Screenshots of ``pages`` (name -> path relative to the site, query allowed) at ``width`` px -> PNGs in ``out``.

    A path ending in ``#anchor`` is scrolled to that anchor; a ``search.html?q=...`` page waits for its results.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shots = {}
    with _browser() as browser, _serve(Path(site)) as base:
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, rel in pages.items():
            page.goto(base + rel, wait_until="load")
            if rel.startswith("search.html"):
                page.wait_for_selector("#search-results .search-summary", timeout=20000)
            shots[name] = out / f"{name}.png"
            page.screenshot(path=str(shots[name]), full_page=full_page)
    return shots


def print_pdf(html_file: Path, pdf: Path) -> Path:
    """Print one page of the built book (e.g. ``paper.html``) to PDF with headless Chromium (A4, print styles)."""
    html_file = Path(html_file)
    with _browser() as browser, _serve(html_file.parent) as base:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.goto(base + html_file.name, wait_until="networkidle")
        page.emulate_media(media="print")
        page.pdf(path=str(pdf), format="A4", print_background=True,
                 margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})
        relative_links(pdf, base)
    return Path(pdf)


def relative_links(pdf: Path, base: str) -> int:
    """Rewrite the PDF's links into the book (``base``: the address it was printed from, a temporary local server)
    as paths relative to the PDF, which sits at the book's root: a reader's viewer resolves them beside the PDF, on
    the published site or in the downloaded folder, instead of a server that no longer exists. Returns how many.

    The document title Chromium records is the page's ``<title>``, "page — site" ("IL-6 and the brain: reproducing
    two studies — IL-6 and the brain"); the PDF's title is the page's own."""
    import logging

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    # Chromium's trailer under-counts its objects by a few, which pypdf reads correctly but reports as a warning
    log = logging.getLogger("pypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        writer = PdfWriter(clone_from=PdfReader(str(pdf)))
    finally:
        log.setLevel(level)
    n = 0
    for page in writer.pages:
        for annot in page.get("/Annots") or []:
            action = annot.get_object().get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if isinstance(uri, str) and uri.startswith(base):
                action.get_object()[NameObject("/URI")] = TextStringObject(uri[len(base):] or "index.html")
                n += 1
    title = str((writer.metadata or {}).get("/Title") or "")
    if " — " in title:
        writer.add_metadata({"/Title": title.rsplit(" — ", 1)[0]})
    tmp = Path(pdf).with_name(f".{Path(pdf).name}.tmp")
    with open(tmp, "wb") as fh:
        writer.write(fh)
    tmp.replace(pdf)
    return n
