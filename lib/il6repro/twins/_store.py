"""Writing a twin to disk: atomically (a failed run leaves no half-written folder), once per parameter set, and
verified before every reuse.

Every file of a finished twin folder is listed with its sha256 in ``.files.sha256.json`` (written inside the
temporary folder, so it appears atomically with the twin). :func:`cached` checks those hashes (and those of
``truth/twin.json`` where the generator recorded them) before handing a cached twin out: a truncated, edited or
partly deleted twin is regenerated, and a line on stderr says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._paths import build_dir

HASHES = ".files.sha256.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha256(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != HASHES}


@contextmanager
def atomic_directory(outdir: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``outdir``; on success it replaces ``outdir``, on failure it goes.

    Before the replacement every file's sha256 is written to ``.files.sha256.json`` in the folder.
    """
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.tmp-", dir=outdir.parent))
    try:
        yield tmp
        (tmp / HASHES).write_text(json.dumps(_listing(tmp), indent=1, sort_keys=True))
        if outdir.exists():
            shutil.rmtree(outdir)
        os.replace(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def verify(folder: str | Path, marker: str = "truth/twin.json") -> str:
    """Why the twin folder cannot be used as it is (``""`` when every file matches its recorded sha256)."""
    folder = Path(folder)
    if not (folder / marker).is_file():
        return f"{marker} is missing"
    try:
        recorded = json.loads((folder / HASHES).read_text())
    except FileNotFoundError:
        return f"{HASHES} is missing (written by an older version, or not finished)"
    except (OSError, ValueError):
        return f"{HASHES} is unreadable"
    try:  # the generator's own record of its data files, where it keeps one (the UK Biobank twin does)
        meta = json.loads((folder / marker).read_text())
        files = meta.get("files", {}) if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return f"{marker} is unreadable"
    for name, sha in {**recorded, **(files if isinstance(files, dict) else {})}.items():
        p = folder / name
        if not p.is_file():
            return f"{name} is missing"
        if _sha256(p) != sha:
            return f"{name} does not match its recorded sha256 (truncated or modified)"
    return ""


def recorded_hashes(folder: str | Path) -> dict[str, str]:
    """The sha256 of every file of a twin folder as recorded when it was written (verified by :func:`cached`)."""
    try:
        out = json.loads((Path(folder) / HASHES).read_text())
    except (OSError, ValueError):
        out = None
    return out if isinstance(out, dict) else _listing(Path(folder))


def _remove_stale_temporaries(root: Path, prefix: str) -> None:
    """Temporary folders of this key whose writer is gone (we hold the key's lock, so none is being written)."""
    for d in root.glob(f".{prefix}.tmp-*"):
        shutil.rmtree(d, ignore_errors=True)
    for d in root.glob(".twin-*"):  # the naming of older versions; only ones that cannot still be in use
        try:
            if time.time() - d.stat().st_mtime > 3600:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def cached(prefix: str, key: str, write: Callable[[Path], Path], cache: str | Path | None = None,
           marker: str = "truth/twin.json") -> Path:
    """``<cache>/<prefix>-<key>/``, written by ``write(path)`` unless already complete and intact.

    The cache folder is ``cache``, else ``$IL6REPRO_TWINS`` (the what-if sweep points every run at one shared
    folder), else ``build/twins``. A file lock makes concurrent runs on one machine write a twin once. A cached
    twin whose files no longer match their recorded sha256 is regenerated (said on stderr).
    """
    import fcntl

    root = Path(cache) if cache else cache_root()
    out = root / f"{prefix}-{key}"
    if (out / marker).is_file() and not verify(out, marker):
        return out
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{prefix}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (out / marker).is_file():
                problem = verify(out, marker)
                if not problem:  # another process wrote it while we waited
                    return out
                print(f"note: cached twin {out}: {problem}; regenerating it", file=sys.stderr)
            _remove_stale_temporaries(root, f"{prefix}-{key}")
            return write(out)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cache_root() -> Path:
    """The twins' cache folder: ``$IL6REPRO_TWINS``, else ``build/twins``."""
    return Path(os.environ["IL6REPRO_TWINS"]) if os.environ.get("IL6REPRO_TWINS") else build_dir() / "twins"


def cached_twins(root: Path | None = None) -> list[Path]:
    """The twin folders in the cache ``root`` (default :func:`cache_root`), sorted; not the lock files or the
    temporary folders of twins being written."""
    root = Path(root) if root else cache_root()
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")) if root.is_dir() else []


def twins_in_receipts(receipts: Path) -> set[str]:
    """The cached twins (folder names) that the receipts in ``receipts`` say a published notebook read."""
    used = set()
    for f in receipts.glob("*.json"):
        try:
            cohorts = json.loads(f.read_text()).get("cohorts", {})
        except (OSError, ValueError, AttributeError):
            continue
        for c in cohorts.values() if isinstance(cohorts, dict) else ():
            for src in [c.get("source", ""), *c.get("also", [])]:
                if isinstance(src, str) and src.startswith("twin "):
                    used.add(src[5:])
    return used


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def prune(keep: set[str], root: Path | None = None, *, min_age: float = 600.0,
          dry_run: bool = False) -> tuple[list[str], int]:
    """Remove the cached twins in ``root`` (default :func:`cache_root`) not named in ``keep``, except those written
    in the last ``min_age`` seconds (a run may be about to use them) and those being written (their lock is held).
    Twins are regenerated, bit for bit, when a notebook needs one again. Returns (removed folders, bytes freed)."""
    import fcntl

    root = Path(root) if root else cache_root()
    removed, freed = [], 0
    for d in cached_twins(root):
        if d.name in keep:
            continue
        try:
            if time.time() - d.stat().st_mtime < min_age:
                continue
        except OSError:
            continue
        lock_path = root / f".{d.name}.lock"
        if dry_run:  # only counted, and no lock file made: a twin is being written only if its lock file exists
            if lock_path.exists():
                with open(lock_path) as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue
                    fcntl.flock(lock, fcntl.LOCK_UN)
            removed.append(d.name)
            freed += folder_size(d)
            continue
        with open(lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # being written now
                continue
            try:
                size = folder_size(d)
                shutil.rmtree(d)
                removed.append(d.name)
                freed += size
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        lock_path.unlink(missing_ok=True)
    return removed, freed
