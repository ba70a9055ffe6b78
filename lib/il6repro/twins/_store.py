"""Writing a twin to disk: atomically (a failed run leaves no half-written folder) and once per parameter set."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._paths import build_dir


@contextmanager
def atomic_directory(outdir: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``outdir``; on success it replaces ``outdir``, on failure it goes."""
    outdir = Path(outdir)
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".twin-", dir=outdir.parent))
    try:
        yield tmp
        if outdir.exists():
            shutil.rmtree(outdir)
        os.replace(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cached(prefix: str, key: str, write: Callable[[Path], Path], cache: str | Path | None = None,
           marker: str = "truth/twin.json") -> Path:
    """``<cache>/<prefix>-<key>/``, written by ``write(path)`` unless already complete.

    The cache folder is ``cache``, else ``$IL6REPRO_TWINS`` (the what-if sweep points every run at one shared
    folder), else ``build/twins``. A file lock makes concurrent runs on one machine write a twin once.
    """
    import fcntl

    root = Path(cache) if cache else Path(os.environ["IL6REPRO_TWINS"]) if os.environ.get("IL6REPRO_TWINS") \
        else build_dir() / "twins"
    out = root / f"{prefix}-{key}"
    if (out / marker).is_file():
        return out
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{prefix}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (out / marker).is_file():  # another process wrote it while we waited
                return out
            return write(out)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
