"""Figures carry their provenance and are byte-for-byte reproducible."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from il6repro.figures import read_provenance, save, set_style  # noqa: E402


def _fig():
    set_style()
    fig, ax = plt.subplots()
    ax.scatter([1, 2, 3], [3, 1, 2])
    ax.set_title("test")
    return fig


def test_provenance_in_png_and_svg(tmp_path, monkeypatch):
    monkeypatch.setenv("IL6REPRO_NOTEBOOK", "05_network")
    monkeypatch.setenv("IL6REPRO_PARAMS_HASH", "abc123")
    out = save(_fig(), "05_demo", caption="a demo", extra={"gene": "IL6R"}, folder=tmp_path)
    for key in ("png", "svg"):
        prov = read_provenance(out[key])
        assert prov["notebook"] == "05_network" and prov["parameters_sha256"] == "abc123"
        assert prov["gene"] == "IL6R" and prov["caption"] == "a demo" and prov["git_commit"]
        assert "data_sha256" in prov


def test_bytes_are_deterministic(tmp_path):
    a = save(_fig(), "same", folder=tmp_path / "a")
    b = save(_fig(), "same", folder=tmp_path / "b")
    assert a["png"].read_bytes() == b["png"].read_bytes()
    assert a["svg"].read_bytes() == b["svg"].read_bytes()


def test_bad_name_rejected(tmp_path):
    with pytest.raises(ValueError, match="figure name"):
        save(_fig(), "../escape", folder=tmp_path)


def test_missing_provenance_is_an_error(tmp_path):
    p = tmp_path / "plain.png"
    _fig().savefig(p)
    with pytest.raises(ValueError, match="no il6repro provenance"):
        read_provenance(p)
