"""Benchmark: the pieces of a notebook's start-up that stops 25 and 26 replaced, each against what it replaced, interleaved.

1. YAML: every YAML file the project ships, parsed by ``yaml.safe_load`` (pure Python) against
   ``il6repro._yaml.load`` (libyaml's parser); the parsed documents must be equal.
2. Harvard-Oxford maps (526 MB of voxels in a 4 MB ``.nii.gz``): nibabel's reader (``np.asarray(img.dataobj)``,
   Python's gzip) against ``il6repro.brain._voxels`` (zlib-ng, read in place); the arrays must be equal.
3. Imports, each in a fresh interpreter (the interpreter's own start is on both sides): the tail functions from
   ``scipy.stats`` against ``il6repro._dist``, and the plotting style by ``seaborn.set_theme`` against
   ``il6repro.figures.set_style``; the tail values and the resulting matplotlib settings must be equal. And (stop
   26) papermill's import, which the runner and every notebook's worker process make, without and with
   ``il6repro`` imported first (its stand-in defers ``rfc3987_syntax``, :mod:`il6repro._lazy`); both validate
   notebook 09 with nbformat and must give the same verdict.

Each comparison: one warm-up of each side, then ``--pairs`` pairs in alternating order (A B, B A, ...); prints the
median and range of each side's wall time and the ratio of the medians.

    python benchmarks/bench_startup.py [--pairs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def interleave(a, b, pairs: int):
    """Warm-up of each side, then ``pairs`` pairs in alternating order; wall seconds and the last outputs."""
    a(), b()
    t = {"a": [], "b": []}
    out = {}
    for i in range(pairs):
        for side, f in (("a", a), ("b", b)) if i % 2 == 0 else (("b", b), ("a", a)):
            t0 = time.perf_counter()
            out[side] = f()
            t[side].append(time.perf_counter() - t0)
    return t, out["a"], out["b"]


def report(title: str, names: tuple[str, str], t: dict, same: bool) -> None:
    print(title)
    for key, name in zip("ab", names, strict=True):
        v = t[key]
        print(f"  {name:<42s} {1e3 * statistics.median(v):8.1f} ms ({1e3 * min(v):.1f}-{1e3 * max(v):.1f})")
    print(f"  ratio of medians {statistics.median(t['a']) / statistics.median(t['b']):.1f}x; outputs equal: {same}")


def yaml_files(pairs: int) -> bool:
    import yaml

    from il6repro import _yaml

    texts = [p.read_text() for p in sorted([*ROOT.glob("data_manifest/**/*.yaml"), *ROOT.glob("lib/il6repro/*.yaml")])]
    t, a, b = interleave(lambda: [yaml.safe_load(x) for x in texts], lambda: [_yaml.load(x) for x in texts], pairs)
    report(f"YAML: the {len(texts)} shipped files", ("yaml.safe_load", "il6repro._yaml.load (libyaml)"), t, a == b)
    return a == b


def atlas(pairs: int) -> bool:
    import numpy as np

    from il6repro import brain
    from il6repro.data.tables import load_harvard_oxford

    img, _ = load_harvard_oxford()
    reader = type(img)
    path = img.get_filename()

    def nibabel_side():
        return np.asarray(reader.from_filename(path).dataobj)

    def ours():
        return brain._voxels(reader.from_filename(path))

    t, a, b = interleave(nibabel_side, ours, pairs)
    same = a.shape == b.shape and bool(np.array_equal(a, b))
    report(f"Harvard-Oxford maps, {a.nbytes / 1e6:.0f} MB of voxels", ("nibabel (gzip)", "brain._voxels (zlib-ng)"),
           t, same)
    return same


_TAILS = ("import json, numpy as np\nx = np.linspace(-9, 9, 101)\n{imp}\n"
          "print(json.dumps([list(map(float, v)) for v in ({calls})]))")
_STATS = _TAILS.format(imp="from scipy import stats",
                       calls="stats.norm.sf(x), stats.t.sf(x, 5), stats.chi2.sf(abs(x), 3), stats.norm.ppf(x / 10 + .5)")
_DIST = _TAILS.format(imp="from il6repro import _dist",
                      calls="_dist.norm_sf(x), _dist.t_sf(x, 5), _dist.chi2_sf(abs(x), 3), _dist.norm_ppf(x / 10 + .5)")
_STYLE = ("import json, matplotlib as mpl\nmpl.use('agg')\n{setup}\n"
          "print(json.dumps({{k: repr(v) for k, v in mpl.rcParams.items() if k != 'image.cmap'}}))")
_SEABORN = _STYLE.format(setup=(
    "import seaborn as sns\nsns.set_theme(context='notebook', style='ticks', palette='colorblind')\n"
    "mpl.rcParams.update({'figure.dpi': 100, 'savefig.dpi': 150, 'savefig.bbox': 'tight', 'axes.spines.top': False,"
    " 'axes.spines.right': False, 'svg.hashsalt': 'il6repro', 'svg.fonttype': 'path', 'font.family': 'DejaVu Sans'})"))
_OURS = _STYLE.format(setup="from il6repro.figures import set_style\nset_style()")


_PAPERMILL = """{setup}
import json, nbformat, papermill
nb = nbformat.read("{nb}", as_version=4)
try:
    nbformat.validate(nb)
    verdict = "valid"
except nbformat.ValidationError as exc:
    verdict = str(exc)[:200]
print(json.dumps([papermill.__version__, verdict, len(nb.cells)]))"""


def _python(code: str):
    return lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def imports(pairs: int) -> bool:
    ok = True
    for title, names, a_code, b_code in (
            ("Normal / t / chi-squared tails, fresh interpreter", ("scipy.stats", "il6repro._dist"), _STATS, _DIST),
            ("Plotting style, fresh interpreter", ("seaborn.set_theme + settings", "figures.set_style"), _SEABORN,
             _OURS),
            ("papermill's import (runner, each notebook's worker), fresh interpreter", ("papermill",
             "il6repro, then papermill"), _PAPERMILL.format(setup="", nb=ROOT / "notebooks/09_ledger.ipynb"),
             _PAPERMILL.format(setup="import il6repro", nb=ROOT / "notebooks/09_ledger.ipynb"))):
        t, a, b = interleave(_python(a_code), _python(b_code), pairs)
        same = json.loads(a) == json.loads(b)
        report(title, names, t, same)
        ok &= same
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args()
    ok = yaml_files(args.pairs) & atlas(args.pairs) & imports(args.pairs)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
