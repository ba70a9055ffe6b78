"""The rendered site, checked in headless Chromium: pages load, links resolve, images load, nothing external."""

from __future__ import annotations

import shutil

import pytest

from conftest import IN_CI
from il6repro.runner import run
from il6repro.site import build_site
from il6repro.sitecheck import BrowserUnavailable, check_site, chromium_path


def _browser_or_skip():
    try:
        chromium_path()
        import playwright  # noqa: F401
    except (BrowserUnavailable, ImportError) as exc:
        if IN_CI:
            pytest.fail(f"CI must run the browser check: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def site(isolated, tiny_notebooks):
    rep = run("default", notebooks_dir=tiny_notebooks, progress=False, log=lambda *a: None)
    assert rep.ok
    return build_site(log=lambda *a: None)


def test_site_structure_and_skip(site):
    for page in ("index.html", "ledger.html", "gallery.html", "receipts.html", "ledger.csv",
                 "notebooks/01_tiny.html", "notebooks/02_second.html", "figures/tiny_line.png"):
        assert (site / page).is_file(), page
    html = (site / "notebooks" / "01_tiny.html").read_text()
    assert "cdnjs" not in html and "Tiny OK notebook" in html
    gallery = (site / "gallery.html").read_text()
    assert "tiny_line.png" in gallery and "parameters_sha256" in gallery and "01_tiny" in gallery
    stamp = (site / ".inputs.sha256").stat().st_mtime_ns
    build_site(log=lambda *a: None)
    assert (site / ".inputs.sha256").stat().st_mtime_ns == stamp, "unchanged inputs must not rebuild"


@pytest.mark.browser
def test_site_in_headless_chromium(site, isolated):
    _browser_or_skip()
    shot = isolated["build"] / "site-check" / "index.png"
    rep = check_site(site, screenshot=shot)
    assert rep.ok, rep.problems
    assert set(rep.pages) >= {"index.html", "ledger.html", "gallery.html", "receipts.html",
                              "notebooks/01_tiny.html", "notebooks/02_second.html"}
    assert rep.images >= 1 and rep.links >= 10
    assert shot.is_file() and shot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.browser
def test_browser_check_catches_broken_links_and_images(site, tmp_path):
    _browser_or_skip()
    broken = tmp_path / "broken"
    shutil.copytree(site, broken)
    (broken / "figures" / "tiny_line.png").write_bytes(b"not a png")
    index = broken / "index.html"
    index.write_text(index.read_text().replace("</main>", "<a href='missing.html'>x</a></main>"))
    rep = check_site(broken)
    assert not rep.ok
    text = "\n".join(rep.problems)
    assert "broken link: missing.html" in text
    assert "image did not load" in text
