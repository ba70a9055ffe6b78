"""The polars read of the extracts gives exactly pandas' table, and leaves every file it could misread to pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from il6repro.genetics import assoc
from il6repro.twins import _checks, ukb


def _pandas(path, text, usecols=None, whitespace=False):
    kw = {"sep": r"\s+"} if whitespace else {}
    return _checks.read_csv(path, ValueError, usecols=usecols, dtype=dict.fromkeys(text, str), **kw)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal names, order, dtypes and values, NaN where NaN, and the sign of every zero."""
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    for c in a.columns:
        if a[c].dtype.kind == "f":
            assert np.array_equal(np.signbit(a[c].to_numpy()), np.signbit(b[c].to_numpy())), c


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    return ukb.write(tmp_path_factory.mktemp("ukb") / "twin", n=600, seed=4)


def test_twin_files_are_read_by_polars_exactly_as_pandas(twin):
    part, raw = twin / ukb.PARTICIPANTS, twin / ukb.RAW
    use = list(pd.read_csv(part, nrows=0).columns)[::-1][:150] + ["eid"]  # a subset, out of order
    fast = _checks._polars_frame(part, ["eid"], use, ",")
    assert fast is not None, "the twin's participant table should take the polars path"
    _same(fast, _pandas(part, ["eid"], use))
    assert list(fast.columns) == [c for c in pd.read_csv(part, nrows=0).columns if c in use]  # file order
    fast = _checks._polars_frame(raw, ["FID", "IID"], None, " ")
    assert fast is not None, "the twin's .raw should take the polars path"
    _same(fast, _pandas(raw, ["FID", "IID"], whitespace=True))


EDGE = {
    # name: (text, polars path expected)
    "gaps, -0.0, ints with gaps, exponents": ("eid,a,b,c,d\n1,-0.0,2,1e-3,7\n2,,3,1.5E2,\n3,.5,4,5.,8\n", True),
    "quoted numbers": ('eid,a,b\n"1","1.5",2\n2,1.5,3\n', True),
    "crlf": ("eid,a,b\r\n1,1.5,2\r\n2,2.5,3\r\n", True),
    "short row": ("eid,a,b\n1,1.5\n2,2.5,3\n", True),
    "long row": ("eid,a,b\n1,1.5,2,9\n2,2.5,3\n", False),
    "blank line": ("eid,a,b\n1,1.5,2\n\n2,2.5,3\n", False),
    "NA spelled out": ("eid,a,b\n1,NA,2\n2,1.5,3\n", False),
    "nan and NAN": ("eid,a,b\n1,nan,2\n2,NAN,3\n", False),
    "inf": ("eid,a,b\n1,inf,2\n2,1.5,3\n", False),
    "text after 100 numeric rows": ("eid,a,b\n" + "".join(f"{i},1.5,2\n" for i in range(150)) + "9,Female,2\n", False),
    "decimal after 100 integer rows": ("eid,a,b\n" + "".join(f"{i},1,2\n" for i in range(150)) + "9,1.5,2\n", False),
    "padded numbers": ("eid,a,b\n1, 1.5,2\n2,1.5 ,3\n", False),
    "plus sign": ("eid,a,b\n1,1.5,+2\n2,1.5,3\n", False),
    "duplicated header": ("eid,a,a\n1,1.5,2\n", False),
    "blank header": ("eid,a,b,\n1,1.5,2,\n", False),
    "missing eid": ("eid,a,b\n,1.5,2\n2,1.5,3\n", False),
    "eid NA": ("eid,a,b\nNA,1.5,2\n2,1.5,3\n", False),
    "leading zeros in eid": ("eid,a,b\n007,1.5,2\n2,1.5,3\n", True),
    "booleans": ("eid,a,b\n1,true,2\n", False),
    "wide integers": ("eid,a,b\n1,99999999999999999999,2\n", False),
    "semicolons": ("eid;a;b\n1;1.5;2\n", False),
    "no final newline": ("eid,a,b\n1,1.5,2", True),
}


@pytest.mark.parametrize("name", list(EDGE))
def test_edge_cases_equal_pandas_or_go_to_pandas(tmp_path, name):
    text, polars_path = EDGE[name]
    f = tmp_path / "x.csv"
    f.write_text(text)
    fast = _checks._polars_frame(f, ["eid"], None, ",")
    assert (fast is not None) == polars_path
    try:
        ref = _pandas(f, ["eid"])
    except ValueError as exc:  # pandas refuses it: so must the public reader, with the same line
        with pytest.raises(ValueError) as err:
            _checks.read_numeric_csv(f, ValueError, text=["eid"])
        assert str(err.value) == str(exc)
        return
    _same(_checks.read_numeric_csv(f, ValueError, text=["eid"]), ref)


@pytest.mark.parametrize("text, polars_path", [
    ("FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) rs2_C(/T)\n1 1 0 0 1 -9 0 2\n2 2 0 0 2 -9 1 1\n", True),
    ("FID\tIID\tPAT\tMAT\tSEX\tPHENOTYPE\trs1_A(/G)\n1\t1\t0\t0\t1\t-9\t0.25\n", True),
    ("FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) rs2_C(/T)\n1 1 0 0 1 -9 NA 2\n2 2 0 0 2 -9 1 1\n", False),
    ("FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) rs2_C(/T)\n1  1 0 0 1 -9 0 2\n2 2 0 0 2 -9 1 1\n", False),
    ("FID  IID PAT MAT SEX PHENOTYPE rs1_A(/G)\n1 1 0 0 1 -9 0\n", False),
    ("FID IID PAT MAT SEX PHENOTYPE rs1_A(/G) \n1 1 0 0 1 -9 0 \n", False),
])
def test_raw_layouts_equal_pandas_whitespace_split(tmp_path, text, polars_path):
    f = tmp_path / "x.raw"
    f.write_text(text)
    fast = _checks.read_numeric_csv(f, ValueError, text=["FID", "IID"], whitespace=True)
    took = any(_checks._polars_frame(f, ["FID", "IID"], None, s) is not None for s in (" ", "\t"))
    assert took == polars_path
    _same(fast, _pandas(f, ["FID", "IID"], whitespace=True))


def test_load_and_association_do_not_depend_on_the_reader(twin, monkeypatch):
    """``ukb.load`` and ``associate`` give identical results whether polars or pandas read the files."""
    fast = ukb.load(twin)
    monkeypatch.setattr(_checks, "_polars_frame", lambda *a, **k: None)
    slow = ukb.load(twin)
    for f in ("covariates", "idps", "dosages", "variants", "idp_info", "exposure", "table1"):
        _same(getattr(fast, f), getattr(slow, f))
    assert fast.notes == slow.notes
    a = assoc.associate(fast.dosages, fast.idps, assoc.design_matrix(fast.covariates), variants=fast.variants)
    b = assoc.associate(slow.dosages, slow.idps, assoc.design_matrix(slow.covariates), variants=slow.variants)
    _same(a, b)
