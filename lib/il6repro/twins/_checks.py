"""Checks shared by the extract loaders: reading a CSV a person exported, numeric columns, row numbers.

Every problem becomes one line naming the file, the column and what to do. Errors name counts and row numbers
(file lines, the header being line 1), never a participant id or a participant's value; text labels of a coded
column (e.g. ``'Female'`` in a sex column) may be named, as they describe the coding, not a person.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

MIN_PARTICIPANTS = 100  # below this the regressions are not estimable / not meaningful; the twins need as many


def rows(mask, index=None, limit: int = 5) -> str:
    """``"rows 3, 17 and 40"``: file line numbers (header = line 1) of the True entries of ``mask``."""
    pos = np.flatnonzero(np.asarray(mask, bool))
    lines = [str(int(p) + 2) for p in pos[:limit]]
    more = f" and {len(pos) - limit} more" if len(pos) > limit else ""
    if not lines:
        return "no rows"
    return ("row " if len(lines) == 1 else "rows ") + ", ".join(lines) + more


def read_csv(path: Path, error: Callable[[str], Exception], **kw) -> pd.DataFrame:
    """``pd.read_csv`` with the failures a person's export can have turned into one clear line each."""
    path = Path(path)
    # a whitespace-separated file is a plink2 .raw: the advice names how that is made, not a spreadsheet's CSV
    raw = kw.get("sep") == r"\s+"
    layout = ("space-separated text with a header row, as `plink2 --export A` writes it" if raw
              else "a CSV with a header row")
    not_text = (f"{path.name}: not text ({'a .bed/.pgen' if raw else 'a spreadsheet'} or compressed file?); "
                + (f"export it as {layout}" if raw else "save it as a comma-separated CSV"))
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise error(f"{path.name}: the file is empty (0 bytes); export the table again ({layout})")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head:  # binary (a .bed, random bytes, UTF-16): pandas would report a tokenizing error instead
        raise error(not_text)
    try:
        df = pd.read_csv(path, **kw)
    except pd.errors.EmptyDataError:
        raise error(f"{path.name}: no header row (the file holds only blank lines); export the table again") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        fix = f"export it again ({layout})" if raw else "save it as comma-separated text with one header row"
        raise error(f"{path.name}: not a readable {'.raw' if raw else 'CSV'} ({first}); {fix}") from None
    except UnicodeDecodeError:
        raise error(not_text) from None
    except ValueError as exc:  # usecols naming columns the file lacks, bad dtype ...
        raise error(f"{path.name}: {str(exc).splitlines()[0]}") from None
    cols = [str(c) for c in df.columns]
    if len(cols) == 1 and kw.get("sep") in (None, ","):
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in cols[0]:
                raise error(f"{path.name}: the file is {name}-separated ({cols[0].count(sep) + 1} fields in "
                            "the header, read as one column); save it comma-separated (e.g. in a spreadsheet: "
                            "CSV UTF-8, comma delimited)")
    return df


def numeric_column(df: pd.DataFrame, col: str, fname: str, what: str, error: Callable[[str], Exception],
                   advice: str = "") -> pd.Series:
    """``df[col]`` as float; text that is not a number is an error naming the column, the count and the rows."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        v = s.astype(float)
    else:
        v = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & v.isna() & (s.astype(str).str.strip() != "")
        if bad.any():
            text = s[bad].astype(str).str.strip()
            hint = ""
            if text.str.startswith(("<", ">")).any():
                hint = "values given as '<x' or '>x' (detection limits): give a number, e.g. the limit itself"
            elif text.str.contains(",").any() and not text.str.contains(r"[A-Za-z]").any():
                hint = "decimal commas: use a decimal point"
            elif text.str.fullmatch(r"[A-Za-z][A-Za-z \-]*").all():
                labels = sorted(text.unique())[:4]
                hint = f"text labels {labels}: recode them to the numeric coding"
            raise error(f"{fname}: column {col!r} ({what}) has {int(bad.sum())} non-numeric value(s) "
                        f"({rows(bad)}){'; ' + hint if hint else ''}{'; ' + advice if advice else ''}")
    with np.errstate(over="ignore", invalid="ignore"):
        bad = v.notna() & ~np.isfinite(v.to_numpy(float) ** 2)  # inf, or squares overflow (sums of squares)
    if bad.any():
        raise error(f"{fname}: column {col!r} ({what}) has {int(bad.sum())} value(s) that are infinite or too large "
                    f"to compute with ({rows(bad)}); check the export (units, a missing-value code such as "
                    "1e308?)")
    return v


_COMPRESSED = (b"\x1f\x8b", b"BZh", b"PK\x03\x04", b"\xfd7zXZ", b"(\xb5/\xfd")  # gzip bz2 zip xz zstd


def _polars_frame(path: Path, text: list[str], usecols: list[str] | None, sep: str) -> pd.DataFrame | None:
    r"""The table ``pd.read_csv(path, sep=..., usecols=usecols, dtype={c: str for c in text})`` gives, read by
    polars, or ``None`` when the file holds anything polars could read differently (see
    :func:`read_numeric_csv`). ``sep`` is ``","``, or ``" "`` / ``"\t"`` standing for pandas' ``r"\s+"``."""
    import polars as pl
    from pandas._libs.parsers import STR_NA_VALUES

    with open(path, "rb") as fh:
        first = fh.readline(1 << 20)
    if first.startswith(_COMPRESSED) or not first.endswith(b"\n"):
        return None
    line = first.rstrip(b"\r\n")
    if sep != "," and (line != line.strip() or (b"\t" if sep == " " else b" ") in line
                       or sep.encode() * 2 in line):
        return None  # pandas' r"\s+" splits on runs of any whitespace: only single `sep` characters here
    try:
        names = pl.read_csv(path, n_rows=0, separator=sep).columns
    except Exception:  # noqa: BLE001 - whatever it is, the pandas path reports it
        return None
    # pandas renames blank and repeated names ('Unnamed: 3', 'a.1'), polars otherwise: leave those to pandas
    if any(not n or n != n.strip() or "_duplicated_" in n for n in names) or len(set(names)) != len(names):
        return None
    want = names if usecols is None else [c for c in names if c in set(usecols)]
    if not set(text) <= set(want) or (usecols is not None and len(want) != len(set(usecols))):
        return None
    try:  # missing values: empty cells only; 'NA', 'nan' ... fail to parse as numbers and go to pandas
        pf = pl.read_csv(path, columns=want, separator=sep, schema_overrides={c: pl.String for c in text},
                         encoding="utf8")
    except Exception:  # noqa: BLE001 - polars cannot read it as plain numeric text: pandas decides
        return None
    if pf.columns != want:
        return None
    na = sorted(STR_NA_VALUES)
    for c in text:  # blank lines (a row of nulls to polars, skipped by pandas), missing or 'NA' ids
        k = pf.get_column(c)
        if k.null_count() or (k.str.strip_chars().str.len_chars() == 0).any() or k.is_in(na).any():
            return None
    schema = dict(zip(pf.columns, pf.dtypes, strict=True))
    if any(schema[c] not in (pl.Float64, pl.Int64) for c in want if c not in text):
        return None  # text, booleans, wide integers, all-empty columns: pandas' inference and messages
    if sep != "," and any(pf.get_column(c).null_count() for c in want):
        return None  # an empty field between two separators: pandas' r"\s+" has none
    # integers with gaps are float64 in pandas; all float columns go into one column-major block
    as_float = [c for c in want if schema[c] == pl.Float64 or (schema[c] == pl.Int64
                                                                and pf.get_column(c).null_count())]
    X = np.empty((pf.height, len(as_float)), order="F")
    nulls = 0
    for j, c in enumerate(as_float):
        s = pf.get_column(c)
        nulls += s.null_count()
        X[:, j] = s.to_numpy() if s.dtype == pl.Float64 else s.cast(pl.Float64).to_numpy()
    if int(np.count_nonzero(~np.isfinite(X))) != nulls:  # 'NaN', 'inf', 'Infinity' in the text: pandas decides
        return None
    df = pd.DataFrame(X, columns=pd.Index(as_float), copy=False)
    floats = set(as_float)
    for j, c in enumerate(want):
        if c in text:
            df.insert(j, c, pd.array(pf.get_column(c).to_numpy(), dtype="str"))
        elif c not in floats:
            df.insert(j, c, pf.get_column(c).to_numpy())
    return df


def read_numeric_csv(path: Path, error: Callable[[str], Exception], *, text: list[str],
                     usecols: list[str] | None = None, whitespace: bool = False) -> pd.DataFrame:
    r"""``read_csv(path, error, usecols=usecols, dtype={c: str for c in text})`` (``sep=r"\s+"`` if
    ``whitespace``): the same table (columns, order, dtypes, values), read by polars when the file is plain
    numeric text, in about half the CPU time and a fraction of the wall time.

    Polars reads it when every column but ``text`` holds integers or decimal numbers, missing values are empty
    cells (comma-separated files only), the header names are distinct and not blank, every row has all ``text``
    fields, and (``whitespace``) fields are separated by single spaces or single tabs. Integer columns with
    missing values become float64, as in pandas; numbers are parsed to the nearest double, as pandas does.
    Anything else (text in a number column, ``NA``/``nan``/``inf`` spelled out, blank lines, ragged rows,
    compressed or non-UTF-8 files, other separators) is read by pandas, so every message of :func:`read_csv` and
    of the checks after it is unchanged.
    """
    path = Path(path)
    if path.is_file() and path.stat().st_size > 0:
        for sep in ((" ", "\t") if whitespace else (",",)):
            df = _polars_frame(path, text, usecols, sep)
            if df is not None:
                return df
    kw = {"sep": r"\s+"} if whitespace else {}
    return read_csv(path, error, usecols=usecols, dtype=dict.fromkeys(text, str), **kw)
