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
    """``<cache or build/twins>/<prefix>-<key>/``, written by ``write(path)`` unless already complete."""
    root = Path(cache) if cache else build_dir() / "twins"
    out = root / f"{prefix}-{key}"
    if (out / marker).is_file():
        return out
    return write(out)
