"""The runner: parameter inspection/validation (:mod:`.parameters`), execution (:mod:`.execute`) and the
per-notebook worker process (:mod:`.worker`), kept apart as in papermill itself."""

from .execute import RunReport, discover, run
from .parameters import ParameterError, inspect_parameters, load_profile, resolve_parameters

__all__ = ["run", "discover", "RunReport", "ParameterError", "inspect_parameters",
           "load_profile", "resolve_parameters"]
