"""One description per shared parameter (the nilearn ``docdict`` / ``fill_doc`` pattern).

A function whose docstring contains ``%(seed)s`` gets the shared text for ``seed``, so ``seed``,
``n_permutations`` or ``data_source`` mean the same everywhere and are described once.
"""

from __future__ import annotations

import textwrap

docdict: dict[str, str] = {
    "seed": """seed : int
    Seed of the random number generator. Every random step of the project takes an explicit seed, so two
    runs with the same parameters give identical results.""",
    "n_permutations": """n_permutations : int
    Number of permutations (or spin rotations / bootstrap draws) of a null distribution. More gives a finer
    p-value (the smallest attainable is 1 / (n_permutations + 1)) at linear cost in time.""",
    "data_source": """data_source : {"twin", "extract"}
    ``"twin"`` uses the synthetic twin generated from ``seed``; ``"extract"`` reads a real access-controlled
    extract from ``extract_path`` with the same loader.""",
    "catalog": """catalog : Catalog or None
    Dataset catalog to resolve ids with; ``None`` uses the project's default catalog (manifests in
    ``data_manifest/``, mirrors from ``IL6REPRO_DATA_MIRRORS``).""",
    "dataset_id": """dataset_id : str
    Identifier of a dataset manifest in ``data_manifest/`` (see ``python -m il6repro data status``).""",
}


def fill_doc(obj):
    """Fill ``%(name)s`` placeholders of ``obj.__doc__`` from :data:`docdict`."""
    doc = obj.__doc__
    if not doc:
        return obj
    indent = ""
    for line in doc.splitlines()[1:]:
        if line.strip():
            indent = line[: len(line) - len(line.lstrip())]
            break
    filled = {k: textwrap.indent(v, indent).lstrip() for k, v in docdict.items()}
    try:
        obj.__doc__ = doc % filled
    except (KeyError, ValueError) as exc:  # pragma: no cover - a bad placeholder is a programming error
        raise RuntimeError(f"bad docstring placeholder in {obj.__qualname__}: {exc}") from exc
    return obj
