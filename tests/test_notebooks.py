"""Smoke runs of the real notebooks through the runner (quick profile), as a fresh machine would run them."""

from __future__ import annotations

import json

import pytest

from il6repro.ledger import compare
from il6repro.runner import run


@pytest.mark.slow
def test_notebook_00_without_mirror(isolated, monkeypatch):
    """No ../shared mirror: wheel-carried data still draws the brain maps; mirror-only sets show as unavailable."""
    monkeypatch.setenv("IL6REPRO_DATA_MIRRORS", "")
    rep = run("quick", only=["00"], progress=False, log=lambda *a: None)
    assert rep.ok, [o.message for o in rep.outcomes]
    b = isolated["build"]
    receipt = json.loads((b / "receipts" / "00_data.json").read_text())
    assert {"ahba_dk", "ahba_donors", "dk_fsaverage5"} <= set(receipt["datasets"])
    assert all(v["source"].startswith("wheel") for v in receipt["datasets"].values())
    assert {"00_dk_parcellation.png", "00_ahba_IL6R.png"} <= set(receipt["figures"])
    table = compare().set_index("claim")
    for cid in ("W.ahba.n_donors", "W.ahba.n_male", "W.ahba.mean_age"):
        assert table.loc[cid, "status"] == "reproduced on real data"
    executed = (b / "notebooks" / "00_data.ipynb").read_text()
    assert "mirror only" in executed and "IL6 present: False" in executed
