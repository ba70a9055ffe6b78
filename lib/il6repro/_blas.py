"""One BLAS thread for small linear algebra.

BLAS threads cost more CPU to start, synchronise and spin than they save on products below ~2 GFLOP, most on a
shared machine (measured: ``associate`` on the twin, ``tsls`` in the teaching simulations 47 -> 7 ms CPU, one
Whitehall over-seeds draw 0.28 -> 0.13 s CPU); the numbers are the same on one thread (each caller tests it).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

from threadpoolctl import threadpool_limits

SMALL_FLOPS = 2e9
_ONE_THREAD = False  # inside one_thread(): BLAS is limited to one thread for the whole process already


@contextmanager
def one_thread():
    """BLAS on one thread for the whole block, once: :func:`small_blas` inside it costs nothing (each
    ``threadpool_limits`` call scans the process's loaded libraries, ~4 ms; the over-seeds draws make hundreds)."""
    global _ONE_THREAD
    if _ONE_THREAD:
        yield
        return
    with threadpool_limits(1):
        _ONE_THREAD = True
        try:
            yield
        finally:
            _ONE_THREAD = False


def small_blas(flops: float):
    """A context in which BLAS runs on one thread when ``flops`` (the work's largest products) is below
    :data:`SMALL_FLOPS`, else with BLAS's default threads (inside :func:`one_thread`: on its one thread)."""
    if _ONE_THREAD:
        return nullcontext()
    return threadpool_limits(1 if flops < SMALL_FLOPS else None)
