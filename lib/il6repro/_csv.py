"""Fast CSV writing of numeric tables, byte for byte what ``pandas.DataFrame.to_csv(path, index=False)`` writes.

The twins' participant tables (20,688 rows x ~220 columns of rounded floats) took ~4.5 s each in pandas, almost
all of it turning floats into their shortest round-trip text. A float column whose values all carry at most
``d`` decimals (``x == k / 10**d`` exactly, with ``|x|`` small enough that no shorter decimal lands on the same
double) has that text determined by the integer ``k``: the digits of ``k`` with the point ``d`` places from the
right, trailing zeros dropped down to one (``1500.0``, ``2.5``, ``-0.0``), which is what Python's ``repr`` and
numpy's ``str`` give for it. Such columns, and int64 ones, are written by a compiled loop; a table with any other
column (text, booleans, infinities, numbers needing exponents) goes to pandas unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

_MAX_DECIMALS = 8
_SPECIAL = set(",\"\r\n")


def _float_decimals(x: np.ndarray) -> int | None:
    """Smallest ``d <= _MAX_DECIMALS`` with every finite ``x`` exactly ``k / 10**d`` for integer ``k`` and small
    enough (``|x| * 10**d < 2**50``) that ``k``'s decimal is the shortest text of ``x``; ``None`` if there is none
    or ``x`` has an infinity."""
    fin = x[~np.isnan(x)]
    if np.isinf(fin).any():
        return None
    if len(fin) == 0:
        return 0
    nz = np.abs(fin[fin != 0])
    if len(nz) and nz.min() < 1e-4:  # repr switches to exponent notation below 1e-4
        return None
    amax = float(np.abs(fin).max())
    for d in range(_MAX_DECIMALS + 1):
        scale = 10.0 ** d
        if amax * scale >= 2.0 ** 50:
            return None
        k = np.rint(fin * scale)
        if np.array_equal(k / scale, fin):
            return d
    return None


@njit(nogil=True, cache=True)
def _write(K, dec, nan, neg, buf):
    """Rows of ``K`` (int64 scaled values) as text into ``buf``; returns the bytes used. ``dec[j] < 0``: an int64
    column; else the decimals of float column ``j``; ``nan``: empty field; ``neg``: a minus sign (for -0.0)."""
    pos = 0
    digits = np.empty(24, np.uint8)
    n, c = K.shape
    for i in range(n):
        for j in range(c):
            if j:
                buf[pos] = 44  # ','
                pos += 1
            if nan[i, j]:
                continue
            v = K[i, j]
            if neg[i, j]:
                buf[pos] = 45  # '-'
                pos += 1
            u = -v if v < 0 else v
            nd = 0
            while True:
                digits[nd] = 48 + u % 10
                u //= 10
                nd += 1
                if u == 0:
                    break
            d = dec[j]
            if d < 0:
                for t in range(nd - 1, -1, -1):
                    buf[pos] = digits[t]
                    pos += 1
                continue
            while nd <= d:  # leading zeros: at least one digit before the point
                digits[nd] = 48
                nd += 1
            for t in range(nd - 1, d - 1, -1):  # integer part
                buf[pos] = digits[t]
                pos += 1
            buf[pos] = 46  # '.'
            pos += 1
            last = 0  # fractional digits, trailing zeros dropped, at least one kept
            for t in range(d):
                if digits[t] != 48:
                    last = d - t
                    break
            if last == 0:
                buf[pos] = 48
                pos += 1
            else:
                for t in range(d - 1, d - 1 - last, -1):
                    buf[pos] = digits[t]
                    pos += 1
        buf[pos] = 10  # '\n'
        pos += 1
    return pos


def write_csv(df: pd.DataFrame, path: str | Path) -> bool:
    """Write ``df`` as ``df.to_csv(path, index=False)`` would, byte for byte; compiled when every column is int64
    or a float64 column with a fixed number of decimals (see the module note), else by pandas.

    Returns
    -------
    bool
        True if the compiled writer was used, False if pandas wrote it.
    """
    names = [str(c) for c in df.columns]
    dec = []
    fast = len(df) > 0 and all(n and not (_SPECIAL & set(n)) and n.strip(" ") == n for n in names) \
        and df.columns.is_unique
    if fast:
        for col in df.columns:
            s = df[col]
            if s.dtype == np.int64:
                if len(s) and s.min() == np.iinfo(np.int64).min:  # no positive counterpart to print from
                    fast = False
                    break
                dec.append(-1)
            elif s.dtype == np.float64:
                d = _float_decimals(s.to_numpy())
                if d is None:
                    fast = False
                    break
                dec.append(d)
            else:
                fast = False
                break
    if not fast:
        df.to_csv(path, index=False)
        return False
    n, c = df.shape
    K = np.empty((n, c), np.int64)
    nan = np.zeros((n, c), np.bool_)
    neg = np.zeros((n, c), np.bool_)
    for j, col in enumerate(df.columns):
        x = df[col].to_numpy()
        if dec[j] < 0:
            K[:, j] = x
            neg[:, j] = x < 0
        else:
            isn = np.isnan(x)
            nan[:, j] = isn
            k = np.rint(np.where(isn, 0.0, x) * 10.0 ** dec[j])
            K[:, j] = np.abs(k).astype(np.int64)
            neg[:, j] = np.signbit(x) & ~isn
    width = 1 + c * (2 + 20 + 1)  # sign, up to 19 digits, point, a separator per field
    buf = np.empty(n * width + 1, np.uint8)
    used = _write(K, np.asarray(dec, np.int64), nan, neg, buf)
    with open(path, "wb") as fh:
        fh.write((",".join(names) + "\n").encode())
        fh.write(buf[:used].tobytes())
    return True
