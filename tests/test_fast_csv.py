"""The compiled CSV writer of the twins writes exactly what pandas' ``to_csv(index=False)`` writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from il6repro._csv import write_csv
from il6repro.twins import ukb


def _both(df: pd.DataFrame, tmp_path) -> tuple[bytes, bytes, bool]:
    df.to_csv(tmp_path / "pandas.csv", index=False)
    used = write_csv(df, tmp_path / "fast.csv")
    return (tmp_path / "pandas.csv").read_bytes(), (tmp_path / "fast.csv").read_bytes(), used


def test_twin_participants_byte_identical(tmp_path):
    part = ukb.simulate(seed=11, n=3000, calibrate_to="z", pleiotropy_sd=0.0)["participants"]
    ref, fast, used = _both(part, tmp_path)
    assert used, "the twin's table should take the compiled path"
    assert fast == ref


def test_edge_values_byte_identical(tmp_path):
    rng = np.random.default_rng(3)
    n = 4000
    x = rng.normal(0, 1000, (n, 5))
    df = pd.DataFrame({
        "four": np.round(x[:, 0], 4), "one": np.round(x[:, 1], 1), "six": np.round(x[:, 2] / 1000, 6),
        "ints": rng.integers(-50_000, 50_000, n), "whole": np.round(x[:, 3], 0),
        "gaps": np.where(rng.random(n) < 0.1, np.nan, np.round(x[:, 4] / 1e3, 3)),
        "tiny": np.round(rng.uniform(-0.01, 0.01, n), 4)})  # 0.0001 steps, -0.0 among them
    df.loc[0, "four"] = -0.0
    df.loc[1, "six"] = 0.0001
    df.loc[2, "one"] = 0.0
    df.loc[3, "whole"] = 123456789.0
    assert (np.signbit(df["tiny"]) & (df["tiny"] == 0)).any()
    ref, fast, used = _both(df, tmp_path)
    assert used
    assert fast == ref


@pytest.mark.parametrize("column", [
    pd.Series(["a", "b", "c"]),                        # text
    pd.Series([1.0, np.inf, 2.0]),                     # infinity
    pd.Series([1e-5, 0.5, 1.0]),                       # needs an exponent
    pd.Series([np.pi, 1.0, 2.0]),                      # full precision
    pd.Series([True, False, True]),                    # booleans
    pd.Series([1e300, 1.0, 2.0]),                      # too large for the integer path
])
def test_other_columns_go_to_pandas(tmp_path, column):
    df = pd.DataFrame({"x": [1, 2, 3], "y": column})
    ref, fast, used = _both(df, tmp_path)
    assert not used
    assert fast == ref


def test_header_needing_quotes_goes_to_pandas(tmp_path):
    df = pd.DataFrame({"a,b": [1.5, 2.5], "c": [1, 2]})
    ref, fast, used = _both(df, tmp_path)
    assert not used
    assert fast == ref
