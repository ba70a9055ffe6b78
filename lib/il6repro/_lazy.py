"""``rfc3987_syntax`` imported on first use instead of whenever ``jsonschema`` is imported.

``jsonschema``, which nbformat imports (and so papermill, nbclient, myst-nb and otter-grader), runs ``from
rfc3987_syntax import is_valid_syntax`` whenever that package is installed, only to check the "iri" string formats;
it is installed here because jupyterlab's server asks for ``jsonschema[format-nongpl]``. Its import compiles 38
lark grammars: 3.1-3.3 s on the development machine, paid by the runner and by every notebook's worker process
(each imports papermill), while nothing the project runs checks those formats. :func:`defer` puts a stand-in
module in ``sys.modules`` whose ``is_valid_syntax`` (and any other attribute, by the module ``__getattr__`` of
PEP 562) imports the real package on first use and hands over to it, so an "iri" check gives what it gave before
(tests/test_lazy.py). The standard library's :class:`importlib.util.LazyLoader` cannot do this: ``from ... import``
reads the attribute at once, which executes the module.
"""

from __future__ import annotations

import importlib
import sys
import types

NAME = "rfc3987_syntax"


def _real() -> types.ModuleType:
    """Import the real package in place of the stand-in (once) and return it."""
    mod = sys.modules.get(NAME)
    if mod is not None and not getattr(mod, "_il6repro_stand_in", False):
        return mod
    sys.modules.pop(NAME, None)
    try:
        return importlib.import_module(NAME)
    except BaseException:
        if mod is not None:
            sys.modules.setdefault(NAME, mod)
        raise


def defer() -> None:
    """Put the stand-in for ``rfc3987_syntax`` in ``sys.modules`` when the package is installed and not imported."""
    import importlib.util

    if NAME in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(NAME)
    except (ImportError, ValueError):
        return
    if spec is None:
        return
    stand_in = types.ModuleType(NAME, "stand-in: imports rfc3987_syntax on first use (il6repro._lazy)")
    stand_in._il6repro_stand_in = True

    def is_valid_syntax(*args, **kwargs):
        return _real().is_valid_syntax(*args, **kwargs)

    def __getattr__(attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(_real(), attr)

    stand_in.is_valid_syntax = is_valid_syntax
    stand_in.__getattr__ = __getattr__
    sys.modules[NAME] = stand_in
