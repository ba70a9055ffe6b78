"""Execute one notebook with papermill in a process of its own (so its kernel's peak memory is measurable).

Invoked by the runner as ``python -m il6repro.runner.worker SPEC.json``; writes ``status.json`` beside the
spec: ``{"ok": bool, "error": {...} | null, "peak_rss_mb": float}``. Exit code 0 on success, 1 on failure.
"""

from __future__ import annotations

import json
import resource
import sys
import traceback
from pathlib import Path


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    status_path = Path(spec_path).with_name("status.json")
    status: dict = {"ok": False, "error": None}
    try:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        try:
            pm.execute_notebook(
                spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=spec["kernel"],
                progress_bar=spec.get("progress", True), cwd=spec["cwd"], execution_timeout=spec["cell_timeout"],
                start_timeout=spec.get("start_timeout", 120), log_output=False, report_mode=False,
                request_save_on_cell_execute=False,
            )
            status["ok"] = True
        except PapermillExecutionError as exc:
            status["error"] = {"type": "cell", "cell_index": exc.cell_index, "exec_count": exc.exec_count,
                               "ename": exc.ename, "evalue": str(exc.evalue)[:2000]}
        except Exception as exc:  # DeadKernelError, CellTimeoutError, kernel start failure ...
            name = type(exc).__name__
            cell = _failing_cell(spec["output"])
            status["error"] = {"type": "kernel", "ename": name, "evalue": str(exc)[:2000], **cell}
    except Exception as exc:  # pragma: no cover - papermill import failure etc.
        status["error"] = {"type": "runner", "ename": type(exc).__name__, "evalue": traceback.format_exc()[-2000:]}
    status["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    status_path.write_text(json.dumps(status))
    return 0 if status["ok"] else 1


def _failing_cell(output: str) -> dict:
    """Best effort: the first code cell papermill marked as running/not finished in the output notebook."""
    try:
        import nbformat

        nb = nbformat.read(output, as_version=4)
        for i, cell in enumerate(nb.cells):
            pm_meta = cell.get("metadata", {}).get("papermill", {})
            if cell.cell_type == "code" and pm_meta.get("status") in ("running", "pending"):
                return {"cell_index": i, "exec_count": cell.get("execution_count")}
    except Exception:  # noqa: BLE001
        pass
    return {}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
