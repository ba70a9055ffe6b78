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
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise error(f"{path.name}: the file is empty (0 bytes); export the table again (a CSV with a header row)")
    try:
        df = pd.read_csv(path, **kw)
    except pd.errors.EmptyDataError:
        raise error(f"{path.name}: no header row (the file holds only blank lines); export the table again") from None
    except pd.errors.ParserError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise error(f"{path.name}: not a readable CSV ({first}); save it as comma-separated text with one header "
                    "row") from None
    except UnicodeDecodeError:
        raise error(f"{path.name}: not text (a spreadsheet or compressed file?); save it as a comma-separated "
                    "CSV") from None
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
