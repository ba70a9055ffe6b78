"""The project's YAML files (data manifests, published claims, profiles, the sweep grid) read by libyaml's parser
where PyYAML was built with it (``yaml.CSafeLoader``, as PyYAML's wheels are): the same documents as
``yaml.safe_load`` (tests/test_manifest.py checks every shipped file), 8-9.5x faster: the 25 shipped files in 6 ms
instead of 60 ms (benchmarks/bench_startup.py), read in every notebook that touches the data layer."""

from __future__ import annotations

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str):
    """``yaml.safe_load(text)``, by libyaml when available."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
