"""Check the rendered site in a real browser (headless Debian Chromium driven by Playwright).

Serves ``build/site`` on 127.0.0.1, opens the index, follows every internal link (breadth first), and on every
page records: console errors, failed or non-2xx requests, requests leaving localhost, images that did not load,
and links whose target does not exist (including ``#fragment`` targets). Saves a screenshot of the index.
``python -m il6repro site --check`` prints the report and exits non-zero on any problem.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlparse

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


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
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.pages)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401 - silence the access log
        pass


def check_site(site: Path, screenshot: Path | None = None, max_pages: int = 200) -> SiteReport:
    """Crawl ``site`` in headless Chromium and report problems (see module docstring)."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site}/index.html does not exist: run `python -m il6repro site` first")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable("playwright (Python) is not installed") from exc
    exe = chromium_path()
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    report = SiteReport()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
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
            queue, seen = [base + "index.html"], set()
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
                        if target.startswith(("http://", "https://")):
                            continue  # external links are allowed but not followed offline
                        report.problems.append(f"{current['url']}: link outside the site: {href}")
                        continue
                    rel = target[len(base):] or "index.html"
                    local = site / rel
                    if not local.is_file():
                        report.problems.append(f"{current['url']}: broken link: {rel}")
                        continue
                    if frag and local.suffix == ".html" and f"id='{frag}'" not in local.read_text() and \
                            f'id="{frag}"' not in local.read_text():
                        report.problems.append(f"{current['url']}: link to missing anchor #{frag} in {rel}")
                    if local.suffix == ".html" and target not in seen:
                        queue.append(target)
                    elif local.suffix != ".html":
                        seen_asset = page.request.get(target)
                        if seen_asset.status >= 400:
                            report.problems.append(f"{current['url']}: asset {rel} returned {seen_asset.status}")
            if screenshot:
                current["url"] = "index.html"
                page.goto(base + "index.html", wait_until="load")
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
                report.screenshot = screenshot
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return report
