"""One BLAS thread for small linear algebra.

BLAS threads cost more CPU to start, synchronise and spin than they save on products below ~2 GFLOP, most on a
shared machine (measured: ``associate`` on the twin, ``tsls`` in the teaching simulations 47 -> 7 ms CPU, one
Whitehall over-seeds draw 0.28 -> 0.13 s CPU); the numbers are the same on one thread (each caller tests it).
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

SMALL_FLOPS = 2e9


def small_blas(flops: float):
    """A context in which BLAS runs on one thread when ``flops`` (the work's largest products) is below
    :data:`SMALL_FLOPS`, else with BLAS's default threads."""
    return threadpool_limits(1 if flops < SMALL_FLOPS else None)
