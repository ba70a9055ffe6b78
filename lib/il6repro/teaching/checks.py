"""Assertions the course's checks are written with: each fails with one sentence a student can act on.

The otter test cells of the teaching notebooks (``grader.check("q1")``) call these, so a wrong answer reads as
"``power`` should have the columns ['n', 'r2', 'power']; it has ['n', 'power']", not as a bare AssertionError.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def _unanswered(name: str, obj) -> str | None:
    if obj is Ellipsis:
        return f"`{name}` is still `...`: replace the `...` with your answer and run the cell again"
    if obj is None:
        return f"`{name}` is not defined yet: run the cells above, then the exercise cell"
    return None


def answered(name: str, obj) -> None:
    """Fail if ``obj`` is still the scaffold's ``...`` (or holds one) or is missing."""
    msg = _unanswered(name, obj)
    if msg is None and isinstance(obj, pd.Series | dict) and any(
            v is Ellipsis for v in (obj.values() if isinstance(obj, dict) else obj.tolist())):
        msg = f"`{name}` still holds `...`: fill in every value"
    if msg:
        raise AssertionError(msg)


def frame(obj, name: str, *, columns: Iterable[str] = (), index: Iterable | None = None,
          rows: int | None = None) -> pd.DataFrame:
    """Fail unless ``obj`` is a DataFrame with (at least) ``columns``, exactly the labels ``index`` (any order)
    and ``rows`` rows; returns it."""
    answered(name, obj)
    if not isinstance(obj, pd.DataFrame):
        raise AssertionError(f"`{name}` should be a pandas DataFrame; it is a {type(obj).__name__}")
    missing = [c for c in columns if c not in obj.columns]
    if missing:
        raise AssertionError(f"`{name}` should have the column(s) {list(columns)}; missing {missing} "
                             f"(it has {list(obj.columns)})")
    if index is not None:
        want, have = set(index), set(obj.index)
        if want != have:
            raise AssertionError(f"`{name}` should be indexed by {sorted(map(str, want))}; "
                                 f"missing {sorted(map(str, want - have))}, unexpected {sorted(map(str, have - want))}")
    pending = [str(c) for c in obj.columns if obj[c].dtype == object and obj[c].map(lambda v: v is Ellipsis).any()]
    if pending:
        raise AssertionError(f"`{name}` still holds `...` in column(s) {pending}: fill them in")
    if rows is not None and len(obj) != rows:
        raise AssertionError(f"`{name}` should have {rows} rows; it has {len(obj)}")
    if len(obj) == 0:
        raise AssertionError(f"`{name}` is empty")
    return obj


def number(obj, name: str, *, low: float = -np.inf, high: float = np.inf) -> float:
    """Fail unless ``obj`` is one finite number within [low, high]; returns it as a float."""
    answered(name, obj)
    try:
        v = float(obj)
    except (TypeError, ValueError):
        raise AssertionError(f"`{name}` should be a single number; it is a {type(obj).__name__}") from None
    if not np.isfinite(v):
        raise AssertionError(f"`{name}` should be a finite number; it is {v}")
    if not low <= v <= high:
        raise AssertionError(f"`{name}` = {v:.4g} is outside the possible range [{low:g}, {high:g}]")
    return v


def close(value, expected, name: str, *, rtol: float = 0.0, atol: float = 0.0, why: str = "") -> None:
    """Fail unless every ``value`` is within ``atol + rtol * |expected|`` of ``expected`` (elementwise)."""
    msg = _unanswered(name, value)  # None read as nan: "`icc_twin` is nan" beside "`icc_twin` is not defined yet"
    if msg:
        raise AssertionError(msg)
    v = np.asarray(value, float)
    e = np.asarray(expected, float)
    if v.shape != e.shape:
        raise AssertionError(f"`{name}` has {v.size} value(s); expected {e.size}")
    bad = ~(np.abs(v - e) <= atol + rtol * np.abs(e))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise AssertionError(f"`{name}` is {v.ravel()[i]:.4g} where {e.ravel()[i]:.4g} was expected"
                             + (f" ({why})" if why else "") + f"; {int(bad.sum())} of {v.size} value(s) off")


def flag(obj, name: str) -> bool:
    """Fail unless ``obj`` is a True/False answer; returns it."""
    answered(name, obj)
    if not isinstance(obj, bool | np.bool_):
        raise AssertionError(f"`{name}` should be True or False; it is {obj!r}")
    return bool(obj)
