"""Execute one notebook with papermill in a process of its own (so its kernel's peak memory is measurable).

Invoked by the runner as ``python -m il6repro.runner.worker SPEC.json``; writes ``status.json`` beside the
spec: ``{"ok": bool, "error": {...} | null, "peak_rss_mb": float}``. Exit code 0 on success, 1 on failure.

The executed copy is saved when the notebook ends, however it ends (papermill's own save at the end of a run, which
runs for a failing cell, a cell that times out, a kernel that dies and a stop alike), so the failing cell is marked
in it and the error names that cell; while cells run it is saved at most every :data:`SAVE_EVERY` seconds
(:func:`_engine`), not twice for every cell, markdown included, as papermill does (156 saves in a teaching notebook
of 78 cells: 2.5 s of its 3.9 s with every code cell emptied). The kernel's own log
(its stderr, e.g. jupyter_client's transport warnings) goes to ``kernel.log`` beside the spec, not to the
terminal. On SIGTERM / SIGINT / SIGHUP the worker stops its kernel (and anything the kernel started) before
exiting, so a stopped run leaves no process behind.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path

SAVE_EVERY = 10.0  # seconds between saves of the executed copy while cells run
HEARTBEAT = 2.0  # seconds between refreshes of the progress bar while a long cell runs


def _forget_progress() -> None:
    """Remove the previous cell's progress line (:mod:`il6repro.progress`)."""
    from ..progress import ENV

    if os.environ.get(ENV):
        try:
            os.unlink(os.environ[ENV])
        except OSError:
            pass


def _engine() -> str:
    """Register papermill's nbclient engine with a notebook manager whose saves at the start and end of each
    cell happen at most every :data:`SAVE_EVERY` seconds; the save at the end of the run (papermill's
    ``notebook_complete``, in a ``finally``) always happens. Returns the engine's name for ``engine_name``."""
    import threading
    import time

    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    from ..progress import ENV, read

    class Manager(NotebookExecutionManager):
        _final = False
        _saved = float("-inf")
        _cell_t0 = None

        def save(self, **kwargs):
            now = time.monotonic()
            if self._final or now - self._saved >= SAVE_EVERY:
                super().save(**kwargs)
                self._saved = now

        def notebook_start(self, **kwargs):
            super().notebook_start(**kwargs)
            if self.pbar is not None:
                self._beat = threading.Event()
                threading.Thread(target=self._heartbeat, daemon=True).start()

        def cell_start(self, cell, cell_index=None, **kwargs):
            _forget_progress()
            self._cell_t0 = time.monotonic()
            super().cell_start(cell, cell_index=cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            self._cell_t0 = None
            _forget_progress()
            if self.pbar is not None:
                self.pbar.set_postfix_str("", refresh=False)
            super().cell_complete(cell, cell_index=cell_index, **kwargs)

        def _heartbeat(self):
            # every HEARTBEAT seconds while a cell runs longer than that: the bar shows the cell's elapsed time and
            # what the cell reported (il6repro.progress), instead of standing still until the cell ends
            while not self._beat.wait(HEARTBEAT):
                t0, bar = self._cell_t0, self.pbar
                if t0 is None or bar is None or time.monotonic() - t0 < HEARTBEAT:
                    continue
                said = read(os.environ[ENV]) if os.environ.get(ENV) else ""
                try:
                    bar.set_postfix_str(f"this cell {time.monotonic() - t0:.0f}s" + (f", {said}" if said else ""))
                except Exception:  # noqa: BLE001 - the bar closed meanwhile
                    return

        def cleanup_pbar(self):
            if getattr(self, "_beat", None) is not None:
                self._beat.set()
            super().cleanup_pbar()

        def notebook_complete(self, **kwargs):
            self._final = True
            super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            # papermill's Engine.execute_notebook with the manager above
            nb_man = Manager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                             autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("il6repro", Engine)
    return "il6repro"


class Interrupted(BaseException):
    """The worker was asked to stop (a signal forwarded by the runner)."""


def _kill_descendants(sig: int = signal.SIGKILL) -> None:
    """Signal every process this worker started (the kernel runs in a session of its own)."""
    try:
        import psutil

        kids = psutil.Process().children(recursive=True)
    except Exception:  # noqa: BLE001 - best effort on the way out
        return
    for k in kids:
        try:
            os.killpg(os.getpgid(k.pid), sig)
        except (ProcessLookupError, PermissionError, OSError):
            pass
        try:
            k.send_signal(sig)
        except Exception:  # noqa: BLE001
            pass


def _on_signal(signum, _frame):
    # From here on the kernel is being stopped on purpose: papermill's clean-up shuts it down while nbclient still
    # awaits a reply, and nbclient ("Kernel died while waiting for execute reply") and asyncio ("Task exception
    # was never retrieved", with a traceback) would log that to the terminal. The runner prints the one line
    # that matters, so the worker's logging ends here.
    import logging

    logging.disable(logging.CRITICAL)
    raise Interrupted(signum)


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    status_path = Path(spec_path).with_name("status.json")
    status: dict = {"ok": False, "error": None}
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, _on_signal)
    # the kernel inherits fd 2: send it to a log file, keep the worker's own stderr (progress bar) on the terminal
    log = os.open(Path(spec_path).with_name("kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    saved = os.dup(2)
    os.dup2(log, 2)
    os.close(log)
    sys.stderr = os.fdopen(saved, "w", buffering=1)
    try:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        try:
            pm.execute_notebook(
                spec["input"], spec["output"], parameters=spec["parameters"], kernel_name=spec["kernel"],
                progress_bar=spec.get("progress", True), cwd=spec["cwd"], execution_timeout=spec["cell_timeout"],
                start_timeout=spec.get("start_timeout", 120), log_output=False, report_mode=False,
                request_save_on_cell_execute=True, engine_name=_engine(),
                # after the last cell every output is in the notebook and every file the cells wrote is closed;
                # a graceful shutdown then waits ~1.3 s per notebook for the kernel to tear down its modules, so
                # the kernel is stopped at once (nbclient's "immediate": its process group is killed)
                shutdown_kernel="immediate",
            )
            status["ok"] = True
        except PapermillExecutionError as exc:
            status["error"] = {"type": "cell", "cell_index": exc.cell_index, "exec_count": exc.exec_count,
                               "ename": exc.ename, "evalue": str(exc.evalue)[:2000]}
        except Interrupted:
            raise
        except Exception as exc:  # DeadKernelError, CellTimeoutError, kernel start failure ...
            name = type(exc).__name__
            cell = _failing_cell(spec["output"])
            status["error"] = {"type": "kernel", "ename": name, "evalue": str(exc)[:2000], **cell}
    except Interrupted as exc:
        _kill_descendants()
        signum = int(exc.args[0]) if exc.args else signal.SIGTERM
        status["error"] = {"type": "interrupted", "ename": signal.Signals(signum).name,
                           "evalue": "the run was stopped"}
        status_path.write_text(json.dumps(status))
        return 128 + signum
    except Exception as exc:  # pragma: no cover - papermill import failure etc.
        status["error"] = {"type": "runner", "ename": type(exc).__name__, "evalue": traceback.format_exc()[-2000:]}
    status["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    status_path.write_text(json.dumps(status))
    return 0 if status["ok"] else 1


def _failing_cell(output: str) -> dict:
    """The cell that was executing when the kernel died or a cell timed out, from the executed copy saved so far.

    papermill marks a cell ``running`` when it starts; on a timeout or a dead kernel it then marks it (and the
    cells that never ran) ``completed`` on the way out, so the failing cell is the last code cell that started.
    """
    try:
        import nbformat

        nb = nbformat.read(output, as_version=4)
        started = None
        for i, cell in enumerate(nb.cells):
            pm_meta = cell.get("metadata", {}).get("papermill", {})
            if cell.cell_type != "code":
                continue
            if pm_meta.get("status") in ("running", "failed"):
                return {"cell_index": i, "exec_count": cell.get("execution_count")}
            if pm_meta.get("start_time"):
                started = i
        if started is not None:
            return {"cell_index": started, "exec_count": nb.cells[started].get("execution_count")}
    except Exception:  # noqa: BLE001
        pass
    return {}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
