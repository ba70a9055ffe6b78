"""il6repro._lazy: rfc3987_syntax (imported by jsonschema, so by papermill and nbformat) loads on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")

CHECK = r"""
import json, sys
{pre}
import papermill, jsonschema
loaded = "lark" in sys.modules
fc = jsonschema.FormatChecker()
values = ["http://例え.テスト/p?q=1#f", "not an iri", "a b", "/relative/path", "mailto:x@y.z", "http://[::1]:80/", ""]
out = {{f: [fc.conforms(v, f) for v in values] for f in ("iri", "iri-reference")}}
print(json.dumps({{"lark_after_import": loaded, "checks": out,
                  "real_after_use": type(sys.modules["rfc3987_syntax"]).__name__ == "module"
                                    and not getattr(sys.modules["rfc3987_syntax"], "_il6repro_stand_in", False)}}))
"""


def _run(pre: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK.format(pre=pre)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_papermill_import_does_not_compile_the_iri_grammars_and_iri_checks_are_unchanged():
    deferred = _run("import il6repro")
    plain = _run("")
    assert deferred["lark_after_import"] is False  # the 38 lark grammars were not compiled on import
    assert plain["lark_after_import"] is True  # (what happens without il6repro: the cost being avoided)
    assert deferred["checks"] == plain["checks"]  # the "iri" formats check exactly as before
    assert deferred["checks"]["iri"][:2] == [True, False]
    assert deferred["real_after_use"] is True  # first use put the real package in place of the stand-in


def test_defer_leaves_an_imported_package_alone():
    from il6repro import _lazy

    before = sys.modules.get(_lazy.NAME)
    _lazy.defer()
    assert sys.modules.get(_lazy.NAME) is before
