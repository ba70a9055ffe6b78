"""One BLAS thread for small linear algebra.

BLAS threads cost more CPU to start, synchronise and spin than they save on products below ~2 GFLOP, most on a
shared machine (measured: ``associate`` on the twin, ``tsls`` in the teaching simulations 47 -> 7 ms CPU, one
Whitehall over-seeds draw 0.28 -> 0.13 s CPU); the numbers are the same on one thread (each caller tests it).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext

from threadpoolctl import ThreadpoolController

SMALL_FLOPS = 2e9
_ONE_THREAD = False  # inside one_thread(): BLAS is limited to one thread for the whole process already
_CONTROLLER: tuple[int, ThreadpoolController] | None = None  # (len(sys.modules) when made, the controller)


def threadpool_limits(limits: int | None):
    """``threadpoolctl.threadpool_limits(limits)`` on a controller kept between calls.

    ``threadpool_limits`` finds the process's thread-pool libraries anew on every call (it reads each loaded
    shared library's path: 3-5 ms, as long as the fit it guards in the teaching simulations, which make hundreds).
    The controller is made again only when a module has been imported since (a new extension module may have
    loaded a BLAS). A BLAS loaded some other way is not limited, which costs threads, never numbers: every caller's
    numbers are the same on one thread and on several (tested).
    """
    global _CONTROLLER
    if _CONTROLLER is None or _CONTROLLER[0] != len(sys.modules):
        _CONTROLLER = (len(sys.modules), ThreadpoolController())
    return _CONTROLLER[1].limit(limits=limits)


@contextmanager
def one_thread():
    """BLAS on one thread for the whole block, once: :func:`small_blas` inside it costs nothing."""
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
