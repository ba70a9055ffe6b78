"""A local stand-in for the OpenGWAS API that serves the hand-made fixtures in ``tests/fixtures/opengwas``.

It behaves as the server's code does where the client depends on it (MRCIEU/opengwas-api ``app/apis/assoc.py``,
``app/middleware/auth.py``, ``app/middleware/limiter.py``): ``POST /associations`` with a JSON body, 401 without or
with a bad bearer token, 400 beyond 64 id x variant pairs, records filtered to the requested ids and variants (LD
proxies only with ``proxies=1`` and only for variants the study lacks), ``GET /status``. Failures can be queued
(``stub.fail(429, retry_after=2)``) to test retries. Every answer carries ``X-Il6repro-Fixture: recorded``.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from werkzeug import Request, Response

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "opengwas"


def make_token(exp: float | None = None, sub: str = "tester@example.org") -> str:
    """An unsigned JWT-shaped token (the stub only compares it; the client reads ``exp``)."""
    def enc(d):
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    claims = {"iss": "api.opengwas.io", "sub": sub, "iat": int(time.time())}
    if exp is not None:
        claims["exp"] = int(exp)
    return f"{enc({'alg': 'RS256', 'kid': 'api-jwt'})}.{enc(claims)}.c2lnbmF0dXJl"


class Stub:
    """Register on a pytest-httpserver ``HTTPServer``; ``requests`` lists every associations request body."""

    def __init__(self, server, token: str, folder: Path = FIXTURES):
        self.server, self.token = server, token
        self.direct = json.loads((folder / "associations.json").read_text())
        self.proxied = json.loads((folder / "associations_proxies.json").read_text())
        self.status = json.loads((folder / "status.json").read_text())
        self.requests: list[dict] = []
        self.failures: list[tuple[int, dict, dict]] = []
        server.expect_request("/associations", method="POST").respond_with_handler(self._assoc)
        server.expect_request("/status", method="GET").respond_with_handler(self._status)

    @property
    def url(self) -> str:
        return self.server.url_for("/")

    def fail(self, code: int, *, retry_after: float | None = None, message: str = "", times: int = 1) -> None:
        """Queue ``times`` failures answered before the next real answers."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"message": message or {429: "Too many requests. Allowance: 100000 per 10 minute.",
                                       401: "Please generate a new token.", 503: "Unable to retrieve associations."
                                       }.get(code, "error")}
        self.failures += [(code, headers, body)] * times

    def _json(self, data, code=200, headers=None) -> Response:
        return Response(json.dumps(data), status=code, content_type="application/json",
                        headers={"X-Il6repro-Fixture": "recorded", **(headers or {})})

    def _status(self, request: Request) -> Response:
        return self._json(self.status)

    def _assoc(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json({"message": "Invalid JWT header or payload."}, 401)
        body = request.get_json()
        self.requests.append(body)
        if self.failures:
            code, headers, msg = self.failures.pop(0)
            return self._json(msg, code, headers)
        ids, variants = body.get("id") or [], body.get("variant") or []
        if not ids or not variants:
            return self._json({"message": "Please provide at least one id and one variant."}, 400)
        if len(ids) * len(variants) > 64:
            return self._json({"message": "Please make sure N(id) * N(variant) <= 64."}, 400)
        out = [r for r in self.direct if r["id"] in ids and r["rsid"] in variants]
        if body.get("proxies") == 1:
            have = {(r["id"], r["rsid"]) for r in out}
            out = [dict(r, target_snp=r["rsid"], proxy_snp=r["rsid"], proxy=False, target_a1=None,
                        target_a2=None, proxy_a1=None, proxy_a2=None) for r in out]
            out += [r for r in self.proxied if r["id"] in ids and r["target_snp"] in variants
                    and (r["id"], r["target_snp"]) not in have]
        return self._json(sorted(out, key=lambda a: (a["id"], a["chr"], a["position"], a["ea"], a["nea"])))
