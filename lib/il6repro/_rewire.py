"""Compiled (numba) round of the degree-preserving double-edge-swap rewiring of
:func:`il6repro.transcriptomics.rewire`: the same proposals (drawn by numpy's generator in the caller) and the
same acceptance rule, with hash sets instead of a sort of every edge key per round. The edges and the keys are held
as int32 when every key ``min * n + max`` fits (STRING: 12,173 nodes), int64 otherwise: the round is bound by
random memory reads, and the narrower tables (2 MB instead of 4 for STRING) fit the cores' caches better."""

from __future__ import annotations

import numpy as np
from numba import njit

_EMPTY = -1


@njit(nogil=True, cache=True)
def _slot(table, key):
    mask = table.shape[0] - 1
    h = (np.int64(key) * -7046029254386353131) & mask  # Fibonacci hashing (0x9E3779B97F4A7C15 as int64; wraps)
    while table[h] != _EMPTY and table[h] != key:
        h = (h + 1) & mask
    return h


@njit(nogil=True, cache=True)
def _key(a, b, n):
    return min(a, b) * n + max(a, b)


@njit(nogil=True, cache=True)
def _slot_either(table, key, twice):
    """The slot of ``key`` or of its seen-twice mark ``twice`` (``-2 - key``), or the empty slot ending the probe."""
    mask = table.shape[0] - 1
    h = (np.int64(key) * -7046029254386353131) & mask
    while True:
        v = table[h]
        if v == _EMPTY or v == key or v == twice:
            return h
        h = (h + 1) & mask


@njit(nogil=True, cache=True)
def swap_round(e, n, i, j, flip, table, table2, ok, k1s, k2s):
    """One round: pair ``i[p]`` with ``j[p]``, propose ``(a, d), (c, b)``; accept a pair iff no self-loop, neither
    new edge exists now, they differ, and neither is proposed by another accepted-so-far pair (all as in the
    numpy version). ``e`` and ``n`` share the key dtype of ``table`` / ``table2`` (power-of-two sizes >= 4 x
    edges); those, ``ok``, ``k1s`` and ``k2s`` are scratch (:func:`tables`)."""
    m = e.shape[0]
    P = i.shape[0]
    table[:] = _EMPTY
    for t in range(m):
        k = _key(e[t, 0], e[t, 1], n)
        table[_slot(table, k)] = k
    for p in range(P):
        a, b = e[i[p], 0], e[i[p], 1]
        if flip[p]:
            c, d = e[j[p], 1], e[j[p], 0]
        else:
            c, d = e[j[p], 0], e[j[p], 1]
        k1, k2 = _key(a, d, n), _key(c, b, n)
        k1s[p], k2s[p] = k1, k2
        good = (a != d) and (c != b) and k1 != k2
        if good and table[_slot(table, k1)] == k1:
            good = False
        if good and table[_slot(table, k2)] == k2:
            good = False
        ok[p] = good
    # proposals made twice among the acceptable pairs are rejected (every pair holding one): a key proposed a
    # second time is overwritten in place by its mark -2 - key (negative, never a key nor _EMPTY), so the count
    # needs no table of its own
    table2[:] = _EMPTY
    for p in range(P):
        if ok[p]:
            for k in (k1s[p], k2s[p]):
                s = _slot_either(table2, k, -2 - k)
                table2[s] = k if table2[s] == _EMPTY else -2 - k
    for p in range(P):
        if ok[p]:
            k1, k2 = k1s[p], k2s[p]
            if table2[_slot_either(table2, k1, -2 - k1)] != k1 or table2[_slot_either(table2, k2, -2 - k2)] != k2:
                ok[p] = False
    for p in range(P):
        if ok[p]:
            a, b = e[i[p], 0], e[i[p], 1]
            if flip[p]:
                c, d = e[j[p], 1], e[j[p], 0]
            else:
                c, d = e[j[p], 0], e[j[p], 1]
            e[i[p], 0], e[i[p], 1] = a, d
            e[j[p], 0], e[j[p], 1] = c, b


@njit(nogil=True, cache=True)
def edges_within(e, mask):
    """How many edges of ``e`` join two nodes of ``mask`` (a boolean per node)."""
    c = 0
    for t in range(e.shape[0]):
        if mask[e[t, 0]] and mask[e[t, 1]]:
            c += 1
    return c


def key_dtype(n: int) -> type:
    """int32 when every edge key ``min * n + max`` of ``n`` nodes fits in it, else int64."""
    return np.int32 if n * n <= np.iinfo(np.int32).max else np.int64


def tables(m: int, n: int) -> tuple[np.ndarray, ...]:
    """Scratch of :func:`swap_round` for ``m`` edges among ``n`` nodes (keys of :func:`key_dtype`)."""
    kt = key_dtype(n)
    # load <= 1/4: on STRING (97,928 edges), 2^19 slots took 0.72-0.75x the time of 2^18 per round (fewer and
    # shorter probes outweigh the larger clears); 2^17 took 1.6x, 2^21 1.4x
    size = 1 << int(np.ceil(np.log2(max(4 * m, 16))))
    P = m // 2
    return np.empty(size, kt), np.empty(size, kt), np.zeros(P, np.bool_), np.empty(P, kt), np.empty(P, kt)
