"""Teaching: simulators for the course notebooks (10+) and the student build.

**How exercises are marked.** In a teaching notebook every exercise has a markdown cell with the task and a code
cell holding the teacher's solution, tagged ``solution`` in its cell metadata (JupyterLab: property inspector >
cell tags). ``python -m il6repro teach`` (:func:`build_student_versions`) writes a student version of each teaching
notebook to ``build/teaching/``: each solution cell is replaced by its leading comment lines (the hints) and
``raise NotImplementedError("Exercise N ...")``; outputs are cleared; nothing else changes. The solution versions
run in ``make reproduce`` like every notebook; the tests check that they execute and that the student versions run
up to the first stub and stop there.

The simulators are small and exact about what they plant, so a student can compare an estimate with the truth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ._paths import build_dir, repo_root

SOLUTION_TAG = "solution"


class TeachingError(ValueError):
    """A teaching notebook without solution cells, or a malformed one."""


# ------------------------------------------------------------------------------------------------ MR power
def mr_power(n: int, r2: float, theta: float, alpha: float = 0.05) -> float:
    """Analytic power of two-sample IVW MR for a standardised continuous outcome (Burgess 2014, Int J Epidemiol).

    The non-centrality is ``n * r2 * theta**2`` (``r2``: variance of the exposure explained by the instruments,
    ``theta``: effect per SD of the exposure, outcome in SD units); power is the two-sided normal probability.
    """
    if n <= 0 or not 0 < r2 < 1:
        raise ValueError("need n > 0 and 0 < r2 < 1")
    ncp = np.sqrt(n * r2) * abs(theta)
    z = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf(z - ncp) + stats.norm.cdf(-z - ncp))


def simulate_summary(n: int, r2: float, theta: float, *, n_snps: int = 10, n_rep: int = 1,
                     pleiotropy_mean: float = 0.0, pleiotropy_sd: float = 0.0, eaf: float = 0.3,
                     seed: int = 0) -> pd.DataFrame:
    """Two-sample summary statistics drawn from their sampling distributions (exposure and outcome in SD units).

    ``n_snps`` independent variants share ``r2`` about equally (each coded so that its allele increases the
    exposure, as after harmonisation); the outcome GWAS has the same ``n``. Each variant's
    direct (pleiotropic) effect on the outcome is drawn from N(``pleiotropy_mean``, ``pleiotropy_sd``), in outcome
    SD units, independent of its exposure effect (the InSIDE assumption holds). Returns ``n_rep * n_snps`` rows:
    rep, snp, bx, bxse, by, byse, true_bx, alpha (pleiotropy).
    """
    rng = np.random.default_rng(seed)
    var_g = 2 * eaf * (1 - eaf)
    gamma = rng.uniform(0.5, 1.5, size=(n_rep, n_snps))  # coded exposure-increasing
    gamma *= np.sqrt(r2 / var_g / (gamma ** 2).sum(axis=1, keepdims=True))  # explains exactly r2 in every rep
    alpha_ = rng.normal(pleiotropy_mean, pleiotropy_sd, size=(n_rep, n_snps)) if (pleiotropy_mean or pleiotropy_sd) \
        else np.zeros((n_rep, n_snps))
    se = np.full((n_rep, n_snps), 1 / np.sqrt(n * var_g))
    bx = gamma + rng.normal(0, se)
    by = theta * gamma + alpha_ + rng.normal(0, se)
    return pd.DataFrame({"rep": np.repeat(np.arange(n_rep), n_snps), "snp": np.tile(np.arange(n_snps), n_rep),
                         "bx": bx.ravel(), "bxse": se.ravel(), "by": by.ravel(), "byse": se.ravel(),
                         "true_bx": gamma.ravel(), "alpha": alpha_.ravel()})


# ------------------------------------------------------------------------------------------------ 2SLS
def simulate_individual(n: int, r2: float, theta: float, *, n_snps: int = 10, confounding: float = 0.6,
                        eaf: float = 0.3, seed: int = 0) -> dict:
    """One-sample individual data: genotypes G (n x n_snps), exposure x, outcome y, confounder u.

    x = G gamma + sqrt(1 - r2) (0.8 u + 0.6 e_x) and y = theta x + confounding * u + e_y, so ordinary least squares is biased by the
    confounder; ``r2`` is the variance of x explained by G (the first-stage strength: F ~ 1 + n r2 / n_snps).
    """
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, eaf, size=(n, n_snps)).astype(float)
    var_g = 2 * eaf * (1 - eaf)
    gamma = np.sqrt(r2 / n_snps / var_g) * np.ones(n_snps)
    u = rng.normal(size=n)
    if not 0 < r2 < 1:
        raise ValueError("r2 must be in (0, 1)")
    x = (G - 2 * eaf) @ gamma + np.sqrt(1 - r2) * (0.8 * u + 0.6 * rng.normal(size=n))
    y = theta * x + confounding * u + rng.normal(size=n)
    cols = [f"snp{i}" for i in range(n_snps)]
    return {"G": pd.DataFrame(G, columns=cols), "x": pd.Series(x, name="x"), "y": pd.Series(y, name="y"),
            "u": u, "truth": theta}


def tsls_estimate(sim: dict) -> dict:
    """2SLS (il6repro.genetics.onesample.tsls, intercept only as covariate) and OLS of y on x for one simulation."""
    from .genetics.onesample import tsls

    C = pd.DataFrame({"const": np.ones(len(sim["x"]))})
    r = tsls(sim["y"].to_frame(), sim["x"], sim["G"], C).iloc[0]
    ols = np.polyfit(sim["x"], sim["y"], 1)[0]
    return {"tsls": float(r["estimate"]), "tsls_se": float(r["se"]), "F": float(r["first_stage_F"]),
            "ols": float(ols)}


# ------------------------------------------------------------------------------------------------ dilution
def simulate_dilution(n_persons: int, rr_true: float, reliability: float, *, n_measures: int = 2,
                      base_risk: float = 0.4, seed: int = 0) -> pd.DataFrame:
    """Cases whose resolution depends on *usual* (long-term) IL-6 while IL-6 is measured with error.

    log IL-6 = usual + noise, with ``reliability`` = var(usual) / var(measured) (the intraclass correlation of
    repeated measures). "Low" is below the median; the risk of resolution is ``base_risk`` times ``rr_true`` if
    usual IL-6 is low. Returns one row per person with stno, age, female, resolved, low_usual, low_1 (one
    measure) and low_mean (the mean of ``n_measures`` measures).
    """
    if not 0 < reliability <= 1:
        raise ValueError("reliability must be in (0, 1]")
    rng = np.random.default_rng(seed)
    usual = rng.normal(size=n_persons)
    noise_sd = np.sqrt(1 / reliability - 1)
    meas = usual[:, None] + rng.normal(0, noise_sd, size=(n_persons, n_measures))
    low_usual = (usual < np.median(usual)).astype(int)
    p = base_risk * np.where(low_usual == 1, rr_true, 1.0)
    resolved = rng.binomial(1, np.clip(p, 0, 1))
    one, mean = meas[:, 0], meas.mean(axis=1)
    return pd.DataFrame({"stno": np.arange(n_persons), "age": rng.normal(55, 6, n_persons),
                         "female": rng.binomial(1, 0.3, n_persons), "resolved": resolved, "low_usual": low_usual,
                         "low_1": (one < np.median(one)).astype(int), "low_mean": (mean < np.median(mean)).astype(int)})


# ------------------------------------------------------------------------------------------------ student build
def teaching_notebooks(folder: Path | None = None) -> list[Path]:
    """Notebooks numbered 10 and above that hold at least one solution cell."""
    folder = folder or repo_root() / "notebooks"
    out = []
    for p in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        if int(p.name[:2]) >= 10:
            out.append(p)
    return out


def _is_solution(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def student_version(nb: dict, name: str = "notebook") -> tuple[dict, int]:
    """A copy of a notebook (JSON dict) with every solution cell replaced by a stub; returns (copy, count)."""
    out = json.loads(json.dumps(nb))
    k = 0
    for cell in out.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if not _is_solution(cell):
            continue
        k += 1
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        hints = []
        for line in src.splitlines():
            if line.startswith("#"):
                hints.append(line)
            else:
                break
        m = re.search(r"exercise\s+(\d+)", " ".join(hints), re.I)
        label = f"Exercise {m.group(1)}" if m else f"Exercise {k}"
        stub = hints + [f'raise NotImplementedError("{label}: your solution goes here (see the task above)")']
        cell["source"] = [line + "\n" for line in stub[:-1]] + [stub[-1]]
        cell["metadata"]["tags"] = [t for t in cell["metadata"].get("tags", []) if t != SOLUTION_TAG] + ["exercise"]
    if k == 0:
        raise TeachingError(f"{name}: no cell tagged {SOLUTION_TAG!r}; mark each solution cell with that tag")
    return out, k


def build_student_versions(out: str | Path | None = None, notebooks: list[Path] | None = None) -> dict[Path, int]:
    """Write the student version of every teaching notebook to ``out`` (default ``build/teaching``)."""
    out = Path(out) if out else build_dir() / "teaching"
    nbs = notebooks if notebooks is not None else teaching_notebooks()
    if not nbs:
        raise TeachingError("no teaching notebooks (numbered 10 and above) found")
    made = {}
    staged = {}
    for p in nbs:
        student, k = student_version(json.loads(Path(p).read_text()), Path(p).name)
        staged[Path(p).name] = (student, k)
    out.mkdir(parents=True, exist_ok=True)
    for name, (student, k) in staged.items():  # written only once every notebook converted
        dest = out / name
        tmp = dest.with_suffix(".tmp")
        tmp.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(dest)
        made[dest] = k
    return made
