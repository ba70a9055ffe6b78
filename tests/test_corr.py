"""il6repro._corr.corr is DataFrame.corr() to the bit (the IDP correlations of notebooks 01 and 02)."""

import numpy as np
import pandas as pd
import pytest

from il6repro._corr import corr


@pytest.mark.parametrize("shape", [(1, 3), (7, 1), (50, 4), (403, 13), (2000, 37)])
def test_equals_pandas_on_complete_tables(shape):
    rng = np.random.default_rng(shape[0])
    df = pd.DataFrame(rng.normal(size=shape) * rng.uniform(0.01, 1e3, shape[1]) + rng.uniform(-1e4, 1e4, shape[1]),
                      columns=[f"c{i}" for i in range(shape[1])])
    if shape[1] > 3:
        df["c2"] = 7.25  # a constant column: NaN, as pandas gives
        df["c3"] = df["c1"] * -3 + 1  # perfectly correlated
    got, want = corr(df), df.corr()
    assert np.array_equal(got.to_numpy(), want.to_numpy(), equal_nan=True)
    assert got.index.equals(want.index) and got.columns.equals(want.columns)


def test_missing_values_go_to_pandas():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(300, 6)))
    df.iloc[rng.integers(0, 300, 40), rng.integers(0, 6, 40)] = np.nan
    pd.testing.assert_frame_equal(corr(df), df.corr(), check_exact=True)


def test_twin_idp_correlations_equal_pandas():
    from il6repro.genetics import assoc, pipeline
    from il6repro.twins import ukb

    ex = ukb.to_extract(ukb.simulate(n=3000, seed=11))
    r = pipeline.residualise(ex.idps, assoc.design_matrix(ex.covariates))
    pd.testing.assert_frame_equal(corr(r), r.corr(), check_exact=True)
