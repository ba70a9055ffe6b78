"""Benchmark: a four-view surface map (both hemispheres, lateral and medial, as notebooks 02 and 04 draw them) made
and saved as PNG and SVG (:func:`il6repro.figures.save`), every face of fsaverage5 drawn in each view (as before
stop 27: one nilearn call per view) against only the faces turned to the viewer (:func:`il6repro.brain.plot_surface`
now).

Both sides run in this one process (imports, the mesh and the atlas read before timing); one warm-up of each side,
then ``--pairs`` pairs in alternating order (A B, B A, ...). Prints the median and range of each side's wall time,
the ratio of the medians, and whether the two sides' PNG and SVG files are equal to the byte (they must be).

    python benchmarks/bench_figures.py [--pairs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("agg")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args()

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from il6repro import brain
    from il6repro.data import tables
    from il6repro.figures import save, set_style

    set_style()
    labels, regions = tables.load_dk_surface(), tables.load_dk_regions()
    brain.fsaverage5()
    ctx = regions[regions["structure"] == "cortex"]
    rng = np.random.default_rng(0)
    z = pd.Series(rng.normal(size=len(ctx)), index=[f"{r.hemisphere}_{r.label}" for r in ctx.itertuples()])
    values = brain.region_map(z, labels, regions)
    front = brain._draw_front

    def every_face(draw, ax, coords, faces, keep):  # stop 26's plot_surface: one nilearn call with every face
        from nilearn.surface import InMemoryMesh

        draw(InMemoryMesh(coords.copy(), faces))

    out = Path(tempfile.mkdtemp(prefix="bench-figures-"))

    def draw(side: str):
        brain._draw_front = front if side == "front" else every_face
        try:
            fig = brain.plot_surface(values, kind="stat", hemis=("left", "right"), cmap="RdBu_r",
                                     title="a four-view map", colorbar_label="z")
            saved = save(fig, f"map_{side}", folder=out, show=False)
            plt.close(fig)
        finally:
            brain._draw_front = front
        return saved.png.read_bytes(), saved.svg.read_bytes()

    draw("every"), draw("front")
    t = {"every": [], "front": []}
    res = {}
    for i in range(args.pairs):
        for side in ("every", "front") if i % 2 == 0 else ("front", "every"):
            t0 = time.perf_counter()
            res[side] = draw(side)
            t[side].append(time.perf_counter() - t0)
    # the provenance (figure name) differs by design: compare the images and the SVGs without it
    png_equal = _pixels(res["every"][0]) == _pixels(res["front"][0])
    svg_equal = _without_description(res["every"][1]) == _without_description(res["front"][1])
    print("four-view surface map (plot_surface + save as PNG and SVG)")
    for side, name in (("every", "every face in every view"), ("front", "front faces only (plot_surface)")):
        v = t[side]
        print(f"  {name:<34s} {1e3 * statistics.median(v):8.1f} ms ({1e3 * min(v):.1f}-{1e3 * max(v):.1f})")
    print(f"  ratio of medians {statistics.median(t['every']) / statistics.median(t['front']):.2f}x; "
          f"PNG pixels equal: {png_equal}; SVG equal (but its description): {svg_equal}")


def _pixels(png: bytes) -> bytes:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return im.tobytes()


def _without_description(svg: bytes) -> bytes:
    import re

    return re.sub(rb"<dc:description>.*?</dc:description>", b"", svg, flags=re.S)


if __name__ == "__main__":
    main()
