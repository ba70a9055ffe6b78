"""il6repro._blas: BLAS limited to one thread for small fits, without finding the thread-pool libraries per fit."""

import sys

import numpy as np
import threadpoolctl


def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_small_blas_limits_and_restores_with_one_library_scan_per_set_of_modules(monkeypatch):
    from il6repro import _blas

    made = []
    real = threadpoolctl.ThreadpoolController
    monkeypatch.setattr(_blas, "ThreadpoolController", lambda: made.append(1) or real())
    monkeypatch.setattr(_blas, "_CONTROLLER", None)
    before = _blas_threads()
    assert before  # numpy's BLAS is loaded
    for _ in range(3):
        with _blas.small_blas(1.0):
            assert set(_blas_threads()) == {1}
        assert _blas_threads() == before  # restored after each block
    with _blas.small_blas(1e12):  # a large product keeps BLAS's default threads
        assert _blas_threads() == before
    assert len(made) == 1  # the libraries were found once for the four blocks
    monkeypatch.setitem(sys.modules, "il6repro_test_new_module", type(sys)("il6repro_test_new_module"))
    with _blas.small_blas(1.0):  # a module imported since: found again (it may have brought a BLAS)
        assert set(_blas_threads()) == {1}
    assert len(made) == 2
    assert _blas_threads() == before


def test_small_blas_numbers_unchanged():
    from il6repro import _blas

    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(400, 6)), rng.normal(size=400)
    plain = np.linalg.lstsq(A, b, rcond=None)[0]
    with _blas.small_blas(1.0):
        limited = np.linalg.lstsq(A, b, rcond=None)[0]
    assert np.array_equal(plain, limited)
