"""il6repro: a reproducible paper of two studies of interleukin-6 and the brain.

Stages (one module or subpackage each, readable as a list):

- :mod:`il6repro.data` - manifests, sources (mirror / wheel / url / generator), sha256 verification, loaders
- :mod:`il6repro.figures` - the shared plotting style and provenance-stamped saving
- :mod:`il6repro.brain` - atlases on fsaverage5 and region maps drawn with nilearn
- :mod:`il6repro.ledger` - published vs reproduced numbers
- :mod:`il6repro.runner` - papermill execution with parameter validation, caching and receipts
- :mod:`il6repro.site` - the rendered static site
"""

__version__ = "0.1.0"

from ._lazy import defer as _defer

_defer()  # rfc3987_syntax on first use: jsonschema imports it (~3 s) in every process importing papermill
