"""Benchmark: gene-set enrichment under a spin null, vectorised across all rotations, against gseapy ``prerank``
called once per rotation (the approach of the imaging-transcriptomics package), same inputs, one run.

Inputs (real data): a cortical map over the 68 DK regions (default: the ENIGMA schizophrenia thickness map when the
mirror has it, else the AHBA IL6R expression map), the AHBA matrix (68 cortical regions x 15,633 genes) and the
KEGG 2021 Human library (sets of 15-500 genes after restriction to the matrix). For the observed map and each of
``--rotations`` spins (fsaverage5 sphere, seeded): correlate the map with every gene across regions, rank the
genes, and compute every set's GSEA enrichment score (weight 1).

* ours: one matrix product for all correlations (:func:`il6repro.transcriptomics.gene_map_correlations`) and the
  enrichment scores of all sets for all rotations from the hit positions
  (:func:`il6repro.transcriptomics.enrichment_scores_many`);
* peer: per rotation, the same correlations then ``gseapy.prerank(permutation_num=0)`` (ES only, 1 thread).

Spin generation is shared and not timed. Prints wall times, the ratio (target >= 20x) and the largest ES difference.

    python benchmarks/bench_spin_gsea.py [--rotations 100] [--seed 2022]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rotations", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--min-size", type=int, default=15)
    ap.add_argument("--max-size", type=int, default=500)
    args = ap.parse_args()
    import gseapy

    from il6repro import brain
    from il6repro import transcriptomics as tx
    from il6repro.data import DataUnavailableError, tables

    expr = tx.cortical(tables.load_ahba_dk(), "both")
    genes = expr.columns
    try:
        x = tables.load_enigma_ct("schizophrenia").reindex(expr.index)
        what = "ENIGMA schizophrenia cortical-thickness d"
    except DataUnavailableError:
        x = expr["IL6R"]
        what = "AHBA IL6R expression"
    lib = tables.load_gmt("kegg_2021_human")
    gset = set(genes)
    sets = {k: sorted(set(v) & gset) for k, v in lib.items()}
    sets = {k: v for k, v in sets.items() if args.min_size <= len(v) <= args.max_size}
    pos = pd.Series(np.arange(len(genes)), index=genes)
    idx = {k: pos[v].to_numpy() for k, v in sets.items()}
    spins = brain.spin_indices(args.rotations, args.seed)
    null = brain.spin_parcels(x, tables.load_dk_surface(), tables.load_dk_regions(), spins)
    maps = np.vstack([x.to_numpy(float)[None, :], null.to_numpy()])  # observed + rotations
    print(f"map: {what}; {expr.shape[0]} regions x {len(genes):,} genes; KEGG 2021: {len(sets)} sets "
          f"({args.min_size}-{args.max_size} genes); {args.rotations} rotations + the observed map")

    t0 = time.perf_counter()
    r = tx.gene_map_correlations(expr, maps)
    ours = tx.enrichment_scores_many(r, idx)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    peer = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in maps:
            rr = tx.gene_map_correlations(expr, m[None, :])[0]
            pre = gseapy.prerank(rnk=pd.Series(rr, index=genes), gene_sets=sets, permutation_num=0, outdir=None,
                                 min_size=args.min_size, max_size=args.max_size, threads=1, no_plot=True,
                                 seed=args.seed, verbose=False)
            peer.append(pre.res2d.set_index("Term")["ES"].astype(float).reindex(list(sets)).to_numpy())
    t_peer = time.perf_counter() - t0
    peer = np.vstack(peer)
    diff = np.nanmax(np.abs(peer - ours[list(sets)].to_numpy()))
    obs = ours.iloc[0]
    p_spin = ((np.abs(ours.iloc[1:]) >= np.abs(obs)).sum(axis=0) + 1) / (args.rotations + 1)
    print(f"ours (vectorised over rotations and sets) {t_ours:8.2f} s")
    print(f"gseapy.prerank once per rotation          {t_peer:8.2f} s")
    print(f"speed-up {t_peer / t_ours:.0f}x (target >= 20x); max |ES difference| {diff:.2e} over "
          f"{peer.size:,} scores")
    print(f"sets with spin P < 0.05: {int((p_spin < 0.05).sum())} of {len(sets)} (smallest P {p_spin.min():.3f})")


if __name__ == "__main__":
    main()
