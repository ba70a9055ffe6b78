"""Benchmark (b): the association step against Debian's ``plink2 --glm`` on the same data, interleaved in one run.

The default UK Biobank twin (N = 20,688, 35 instruments, 205 IDPs, 1.5% of CT values missing) is exported once
to what plink2 reads: a pgen made from a VCF of the counted-allele hard calls (ALT = the counted allele, so plink2's
A1 is ours), a phenotype file of the IDPs (each scaled to unit SD on its complete cases, as ``associate`` does), and
a covariate file holding our design matrix without its intercept (plink2 adds one). Export is not timed.

Timed after one warm-up of each side, in ``--pairs`` interleaved pairs (plink2, ours end to end, plink2, ...);
each side's median and min-max printed, and the ratio of medians:

* plink2: ``plink2 --pfile ... --pheno ... --covar ... --glm hide-covar omit-ref --threads T``
  (``omit-ref`` makes ALT, our counted allele, plink2's A1; plink2 >= a3 otherwise tests the minor allele) (reads its inputs, fits
  every variant x phenotype, writes one ``.glm.linear`` per phenotype);
* ours, compute: :func:`il6repro.genetics.assoc.associate` on the loaded arrays;
* ours, end to end: reading the participant CSV and the ``.raw`` dosages (``ukb.load``), building the design
  matrix and ``associate`` -- the like-for-like comparison with plink2, which also reads files.

Ours compute-only (``associate`` on loaded arrays) is timed in the same loop. Then prints the speed-ups
(plink2 / ours; the goal is >= 5x end to end) and the agreement of betas, SEs and P values (plink2 prints 6
significant digits, so relative agreement is bounded by ~1e-6), the load average, and where our end-to-end CPU
goes (the participant CSV read and the ``.raw`` read each timed alone after the pairs, ``associate``, the rest).

    python benchmarks/bench_assoc_plink2.py [--threads 2] [--pairs 5] [--plink2 plink2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def export(ex, X: pd.DataFrame, d: Path) -> list[str]:
    """Write ex (dosages, IDPs) and the design X as plink2 inputs under d; return the phenotype names."""
    from il6repro.twins import ukb

    ins = ukb.instruments().drop_duplicates("snp").set_index("snp")
    v = ex.variants.set_index("snp").loc[ex.dosages.columns]
    pos = ins.loc[v.index, ["chr", "pos"]].astype(int)
    order = np.lexsort((pos["pos"].to_numpy(), pos["chr"].to_numpy()))
    snps = v.index[order]
    ids = ex.dosages.index.astype(str)
    G = ex.dosages[snps].to_numpy()
    if not np.allclose(G, np.round(G)):
        raise SystemExit("the twin's dosages are not hard calls; this exporter writes GT only")
    gt = np.array(["0/0", "0/1", "1/1"])[np.round(G).astype(int)]
    with open(d / "g.vcf", "w") as f:
        f.write("##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
        f.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(ids) + "\n")
        for j, s in enumerate(snps):
            f.write(f"{pos.loc[s, 'chr']}\t{pos.loc[s, 'pos']}\t{s}\t{v.loc[s, 'alt']}\t{v.loc[s, 'counted']}"
                    "\t.\tPASS\t.\tGT\t" + "\t".join(gt[:, j]) + "\n")
    Y = ex.idps.loc[X.index]
    Y = (Y - Y.mean()) / Y.std(ddof=1)
    Y.insert(0, "IID", ids)
    Y.insert(0, "#FID", ids)
    Y.to_csv(d / "pheno.txt", sep="\t", index=False, na_rep="NA", float_format="%.12g")
    C = X.drop(columns="const").copy()
    C.insert(0, "IID", ids)
    C.insert(0, "#FID", ids)
    C.to_csv(d / "covar.txt", sep="\t", index=False, float_format="%.12g")
    subprocess.run([PLINK2, "--vcf", str(d / "g.vcf"), "--double-id", "--make-pgen", "--out", str(d / "g"),
                    "--threads", "1"], check=True, capture_output=True)
    return list(ex.idps.columns)


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_plink2(d: Path, threads: int) -> float:
    out = d / "res"
    for f in d.glob("res.*"):
        f.unlink()
    t0 = time.perf_counter()
    subprocess.run([PLINK2, "--pfile", str(d / "g"), "--pheno", str(d / "pheno.txt"), "--covar",
                    str(d / "covar.txt"), "--glm", "hide-covar", "omit-ref", "--threads", str(threads), "--memory", "4000",
                    "--out", str(out)], check=True, capture_output=True)
    return time.perf_counter() - t0


def read_plink2(d: Path, phenos: list[str]) -> pd.DataFrame:
    parts = []
    for ph in phenos:
        r = pd.read_csv(d / f"res.{ph}.glm.linear", sep="\t")
        r["idp"] = ph
        parts.append(r)
    r = pd.concat(parts, ignore_index=True)
    return r.rename(columns={"ID": "snp", "BETA": "beta_plink2", "SE": "se_plink2", "P": "p_plink2",
                             "OBS_CT": "n_plink2", "A1": "a1"})


def timed(f):
    c0, t0 = time.process_time(), time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out, time.process_time() - c0


def summary(ts: list[float]) -> str:
    return f"median {statistics.median(ts):7.3f} s (range {min(ts):.3f}-{max(ts):.3f})"


PLINK2 = "plink2"


def main():
    global PLINK2
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--plink2", default="plink2")
    ap.add_argument("--n", type=int, default=20688)
    args = ap.parse_args()
    PLINK2 = shutil.which(args.plink2) or args.plink2
    if not shutil.which(PLINK2):
        raise SystemExit("plink2 not found: `apt-get install plink2` (Debian) or pass --plink2 /path/to/plink2")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from il6repro.genetics import assoc as A
    from il6repro.twins import ukb

    version = subprocess.run([PLINK2, "--version"], capture_output=True, text=True).stdout.strip()
    twin = ukb.build(n=args.n)
    ex = ukb.load(twin)
    X = A.design_matrix(ex.covariates)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        phenos = export(ex, X, d)
        print(f"inputs: N = {len(X):,}, {ex.dosages.shape[1]} variants x {len(phenos)} IDPs, "
              f"{X.shape[1]} design columns; {version}; {args.threads} threads; {args.pairs} interleaved pairs "
              f"after one warm-up each; load average {os.getloadavg()[0]:.1f} (1 min)")

        def end_to_end():
            e = ukb.load(twin)
            return A.associate(e.dosages, e.idps, A.design_matrix(e.covariates), variants=e.variants)

        run_plink2(d, args.threads)  # warm-up (file cache, both sides)
        end_to_end()
        t_plink, t_e2e, t_core, c_plink, c_e2e, c_core = [], [], [], [], [], []
        for i in range(args.pairs):
            c0 = child_cpu()
            t_plink.append(run_plink2(d, args.threads))
            c_plink.append(child_cpu() - c0)
            t, _, c = timed(end_to_end)
            t_e2e.append(t)
            c_e2e.append(c)
            t, ours, c = timed(lambda: A.associate(ex.dosages, ex.idps, X, variants=ex.variants))
            t_core.append(t)
            c_core.append(c)
            print(f"  pair {i + 1}: plink2 {t_plink[-1]:.3f} s   ours end to end {t_e2e[-1]:.3f} s   "
                  f"(compute only {t_core[-1]:.3f} s)", flush=True)
        res = read_plink2(d, phenos)
        # where our end-to-end CPU goes (same files, after the pairs): the two reads alone, repeated
        from il6repro.twins import _checks

        cols = ukb.column_mapping()
        head = list(pd.read_csv(twin / ukb.PARTICIPANTS, nrows=0).columns)
        c_csv = [timed(lambda: _checks.read_numeric_csv(twin / ukb.PARTICIPANTS, ukb.ExtractError,
                                                        text=[cols["eid"]], usecols=head))[2]
                 for _ in range(args.pairs)]
        c_raw = [timed(lambda: ukb.read_raw(twin / ukb.RAW))[2] for _ in range(args.pairs)]
    m = ours.merge(res[["snp", "idp", "a1", "beta_plink2", "se_plink2", "p_plink2", "n_plink2"]],
                   on=["snp", "idp"], validate="1:1")
    if len(m) != len(ours):
        raise SystemExit(f"only {len(m)} of {len(ours)} pairs matched plink2's output")
    if not (m["a1"] == m["effect_allele"]).all():
        raise SystemExit("plink2's A1 differs from our counted allele for some variants")
    rel = lambda a, b: np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))  # noqa: E731
    mp, me, mc = (statistics.median(t) for t in (t_plink, t_e2e, t_core))
    print(f"plink2 --glm (reads pgen + pheno + covar, fits, writes)   {summary(t_plink)}")
    print(f"ours, end to end (read CSV + .raw, design, associate)    {summary(t_e2e)}   speed-up {mp / me:.1f}x")
    print(f"ours, associate() on loaded arrays                       {summary(t_core)}   speed-up {mp / mc:.1f}x")
    cp, ce, cc = (statistics.median(t) for t in (c_plink, c_e2e, c_core))
    print(f"CPU time (all threads; plink2 as a child process): plink2 {summary(c_plink)}; ours end to end "
          f"{summary(c_e2e)}, speed-up {cp / ce:.1f}x; associate() {summary(c_core)}, speed-up {cp / cc:.1f}x")
    print(f"of ours end to end (CPU, medians): participant CSV read {statistics.median(c_csv):.3f} s "
          f"({(twin / ukb.PARTICIPANTS).stat().st_size / 1e6:.0f} MB of text), .raw read "
          f"{statistics.median(c_raw):.3f} s, associate() {cc:.3f} s, the rest of load + design "
          f"{ce - statistics.median(c_csv) - statistics.median(c_raw) - cc:.3f} s")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} cores")
    print(f"agreement over {len(m):,} variant x IDP pairs: max |beta diff| "
          f"{np.max(np.abs(m.beta - m.beta_plink2)):.2e} (max |beta| {np.max(np.abs(m.beta)):.3f}), "
          f"max rel. diff beta {rel(m.beta, m.beta_plink2):.2e}, SE {rel(m.se, m.se_plink2):.2e}, "
          f"P {rel(m.p, m.p_plink2):.2e}; N identical: {bool((m.n == m.n_plink2).all())}")


if __name__ == "__main__":
    main()
