"""The twins' cache (build/twins): 43 MB per default-size UK Biobank twin, kept for every seed and size ever run,
so a seed sweep filled the disk with no way to see or trim it. `twins status` / `twins prune`."""

from __future__ import annotations

import fcntl
import json
import os
import time

from il6repro import __main__ as cli
from il6repro.twins import _store, ukb


def _fake_twin(root, name, age_s, size=1000):
    d = root / name
    (d / "truth").mkdir(parents=True)
    (d / "data.csv").write_bytes(b"x" * size)
    old = time.time() - age_s
    os.utime(d, (old, old))
    return d


def test_prune_keeps_what_receipts_name_recent_twins_and_twins_being_written(tmp_path, monkeypatch, capsys):
    build = tmp_path / "build"
    root = build / "twins"
    (build / "receipts").mkdir(parents=True)
    monkeypatch.setenv("IL6REPRO_BUILD", str(build))
    monkeypatch.delenv("IL6REPRO_TWINS", raising=False)
    (build / "receipts" / "01_ukb_cohort.json").write_text(json.dumps(
        {"cohorts": {"ukb": {"source": "twin ukb-used", "sha256": {}, "also": ["twin ukb-also"]}}}))
    (build / "receipts" / "broken.json").write_text("{not json")
    for name in ("ukb-used", "ukb-also", "ukb-old1", "ukb-old2", "ukb-locked"):
        _fake_twin(root, name, age_s=7200)
    _fake_twin(root, "ukb-recent", age_s=5)
    assert _store.twins_in_receipts(build / "receipts") == {"ukb-used", "ukb-also"}
    assert cli.main(["twins", "status"]) == 0
    assert "6 cached twin(s)" in capsys.readouterr().out
    with open(root / ".ukb-locked.lock", "w") as lock:  # a run writing this twin now
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert cli.main(["twins", "prune", "--dry-run"]) == 0
        assert "would remove 2 cached twin(s)" in capsys.readouterr().out
        assert not (root / ".ukb-old1.lock").exists()  # a dry run leaves no lock file behind
        assert len(list(root.iterdir())) >= 6
        assert cli.main(["twins", "prune"]) == 0
        assert "removed 2 cached twin(s)" in capsys.readouterr().out
    left = sorted(d.name for d in root.iterdir() if not d.name.startswith("."))
    assert left == ["ukb-also", "ukb-locked", "ukb-recent", "ukb-used"]


def test_a_pruned_twin_comes_back_identical(tmp_path):
    root = tmp_path / "twins"
    first = ukb.build(cache=root, n=200, seed=9)
    before = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    os.utime(first, (time.time() - 7200,) * 2)
    removed, freed = _store.prune(set(), root)
    assert removed == [first.name] and freed > 0 and not first.exists()
    again = ukb.build(cache=root, n=200, seed=9)
    assert again == first and {p.name: p.read_bytes() for p in again.iterdir() if p.is_file()} == before


def test_a_run_says_when_the_cache_is_large(tmp_path, monkeypatch, capsys):
    build = tmp_path / "build"
    monkeypatch.setenv("IL6REPRO_BUILD", str(build))
    monkeypatch.delenv("IL6REPRO_TWINS", raising=False)
    for k in range(3):
        _fake_twin(build / "twins", f"ukb-{k}", age_s=0, size=4000)
    cli._twins_note()
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(cli, "TWINS_NOTE_BYTES", 10_000)
    cli._twins_note()
    assert "holds 0.0 GB of cached twins (3); 'python -m il6repro twins prune' removes the 3" in capsys.readouterr().out
