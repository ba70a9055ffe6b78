"""How fast does a bad parameter value fail, through the runner and through plain papermill?

For each of ten bad values (wrong type, out of range, unknown choice) this times, as whole processes:

- ``python -m il6repro run --only NN -p name=value``: the runner checks every value before any notebook starts;
- ``papermill notebooks/NN.ipynb out.ipynb -p name value``: papermill starts a kernel, injects the value, and the
  notebook's first code cell (``check_parameters(globals())``) refuses it before any heavy import.

It prints each case's wall time, the one line the user sees, and for plain papermill the time of the failing cell
itself (from papermill's cell metadata) beside the floor: papermill running a one-cell notebook that does nothing.
Usage: ``.venv/bin/python benchmarks/bench_parameter_errors.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("02", "alpha", "2"), ("02", "ivw_model", "randm"), ("02", "seed", "-1"), ("03", "n_boot", "0"),
    ("07", "il6_cut", "-1"), ("01", "n", "5"), ("02", "correction", "holm"), ("04", "target", "MTG"),
    ("05", "string_min_score", "0.4"), ("08", "on_bad_ghq", "ignore"),
]


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - t0, out


def _notebook(nb: str) -> Path:
    return next((ROOT / "notebooks").glob(f"{nb}_*.ipynb"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    py = sys.executable
    papermill = str(Path(py).with_name("papermill"))
    tmp = Path(tempfile.mkdtemp())
    floor_nb = tmp / "floor.ipynb"
    floor_nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "a",
                                               "metadata": {}, "outputs": [], "source": "x = 1"}],
                                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}},
                                    "nbformat": 4, "nbformat_minor": 5}))
    _timed([py, "-m", "il6repro", "run", "--only", "02", "-p", "alpha=2"])  # warm-up (parameter cache)
    floor = [_timed([papermill, str(floor_nb), str(tmp / "f.ipynb")])[0] for _ in range(args.repeats)]
    print(f"papermill floor (one empty cell): median {statistics.median(floor):.2f} s "
          f"(range {min(floor):.2f}-{max(floor):.2f})\n")
    print(f"{'case':<28} {'runner s':>9} {'papermill s':>12} {'cell s':>7}  message")
    for nb, name, value in CASES:
        r_times, p_times, cell = [], [], float("nan")
        for _ in range(args.repeats):  # interleaved: runner, papermill, runner, papermill ...
            t, out = _timed([py, "-m", "il6repro", "run", "--only", nb, "-p", f"{name}={value}"])
            r_times.append(t)
            line = [ln for ln in out.stderr.splitlines() if ln.strip()]
            t, out2 = _timed([papermill, str(_notebook(nb)), str(tmp / "out.ipynb"), "-p", name, value])
            p_times.append(t)
            executed = json.loads((tmp / "out.ipynb").read_text())
            failed = [c for c in executed["cells"] if c.get("outputs") and c["outputs"][0].get("output_type") == "error"]
            if failed:
                cell = failed[0]["metadata"]["papermill"]["duration"]
        assert out.returncode != 0 and out2.returncode != 0, (nb, name, value)
        print(f"{nb}.{name}={value:<{27 - len(nb) - len(name)}} {statistics.median(r_times):>9.2f} "
              f"{statistics.median(p_times):>12.2f} {cell:>7.3f}  {line[0] if line else '?'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
