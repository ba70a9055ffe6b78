"""Grade one submission in this process and write the result as JSON (run by :func:`.grading.grade_in_child`).

``python -m il6repro.teaching._grade_worker SUBMISSION AUTOGRADER OUT.json [CELL_TIMEOUT]``: ``{"scores": {q: score},
"checks": [{question, case, hidden, points, passed, message}, ...]}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    submission, autograder, out, *limit = argv
    from .course import grade_details

    res = grade_details(Path(submission), Path(autograder), float(limit[0]) if limit else None)
    tmp = Path(out).with_suffix(".tmp")
    tmp.write_text(json.dumps(res))
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:  # noqa: BLE001 - one line for the parent's error column
        print(f"{type(exc).__name__}: {exc}".splitlines()[0][:300], file=sys.stderr)
        sys.exit(1)
