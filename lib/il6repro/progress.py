"""Progress of long work inside one notebook cell, shown on the runner's progress bar.

The runner's bar advances a cell at a time; a cell drawing 1,000 twins or 2,000 null networks would show a frozen
bar for minutes. Long loops call :func:`report`, which writes one line (``over-seeds (UK Biobank): 340 of 1,000
seeds``) to the file the runner's worker names in ``$IL6REPRO_PROGRESS_FILE``; the worker shows it beside the bar
with the cell's elapsed time, and forgets it when the cell ends. Outside the runner (an interactive session, plain
papermill) :func:`report` does nothing. Writes are atomic (a temporary file renamed) and at most one every
``every`` seconds, the last always.
"""

from __future__ import annotations

import os
import time

ENV = "IL6REPRO_PROGRESS_FILE"
_last = [float("-inf")]


def report(label: str, done: int, total: int, unit: str = "", *, every: float = 0.5) -> None:
    """Tell the runner that ``done`` of ``total`` steps of ``label`` are done (``unit``: their noun, plural)."""
    path = os.environ.get(ENV)
    if not path:
        return
    now = time.monotonic()
    if done < total and now - _last[0] < every:
        return
    _last[0] = now
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as fh:
            fh.write(f"{label}: {done:,} of {total:,}{' ' + unit if unit else ''}")
        os.replace(tmp, path)
    except OSError:  # the progress line is a courtesy: never fail the work for it
        pass


def read(path: str | os.PathLike) -> str:
    """The last line :func:`report` wrote to ``path`` ("" when none)."""
    try:
        with open(path) as fh:
            return fh.read().strip()[:120]
    except OSError:
        return ""
