"""Real outcome data for the MR half: UK Biobank brain-IDP GWAS associations from OpenGWAS (batch ``ubm-b``).

>>> from il6repro.data import opengwas
>>> out = opengwas.open_outcomes(instruments)      # token from OPENGWAS_JWT; cached on disk by query
>>> out.assoc                                      # snp, idp, effect_allele, other_allele, eaf, beta, se, t, p, n, ...
>>> out.evidence                                   # "opengwas_real" or "recorded_fixture" (ledger kind)

``ubm-b`` is the BIG40 GWAS of UK Biobank imaging-derived phenotypes (Smith et al. 2021, Nat Neurosci 24:737; N
27,663-33,224). Its sample overlaps the 20,688 participants of Williams et al. 2022 but is not the same, so a number
from here is a reproduction on *real public data*, not of the paper's exact analysis; the ledger says so.

This is a **live** source: its manifest (``data_manifest/opengwas_ubm_b.yaml``) records the API and the query, not
pinned bytes. Each query (GWAS ids, rsids, proxy settings, base URL) is fetched once and kept under
``<cache>/opengwas/<query key>/<API version>/`` (``IL6REPRO_CACHE``): every response's raw bytes with their sha256,
the requests, the API version the server reported and the time. A later call with the same query reads the cache
and makes no request (no token needed); ``refresh=True`` fetches again (a new API version gets its own entry). An
entry is written only when every request of the query succeeded, in one atomic rename: a failure part-way caches
nothing. The sha256 of the responses goes to the run's data log, hence the receipt.

Only answers from the official URL (:data:`API_URL`) earn the evidence kind ``opengwas_real``. Anything else -- a
local stub serving the test fixtures, ``OPENGWAS_API_URL`` pointed elsewhere, or a server that sends the
:data:`FIXTURE_HEADER` -- is ``recorded_fixture``, which the ledger never counts as evidence.

The client speaks plain HTTP (httpx) rather than ``ieugwaspy`` because ieugwaspy prints its whole configuration,
token included, when it loads it (a token must never reach a rendered notebook), sends form-encoded bodies and does
not split queries within the API's 64-pair limit. What it does, and the sources relied on (public code of the API
and of its official clients, read as stored copies):

- ``POST {API_URL}associations`` with a JSON body ``variant`` (list of rsids), ``id`` (list of GWAS ids),
  ``proxies`` (0/1), ``population``, ``r2``, ``align_alleles``, ``palindromes``, ``maf_threshold``; the server
  answers 400 when N(id) x N(variant) > 64, and charges ``max(N(id), N(variant)) x (1 if proxies else 5)`` against
  the allowance (MRCIEU/opengwas-api ``app/apis/assoc.py``). Batches are planned to stay within 64 pairs with the
  fewest requests (:func:`plan_batches`).
- The answer is a JSON list of records ``id, trait, chr, position, rsid, ea, nea, eaf, beta, se, p, n`` with ``""``
  for a missing number (``app/queries/assoc_queries_by_chunks.py``); with ``proxies=1`` the records of proxies also
  carry ``proxy, target_snp, proxy_snp, target_a1, target_a2, proxy_a1, proxy_a2`` and, with ``align_alleles=1``,
  ``rsid`` / ``ea`` / ``nea`` are rewritten to the target variant's (``app/queries/proxy_queries.py``,
  ``annotate_associations``). A variant absent from a study is simply absent from the list.
- Authentication: ``Authorization: Bearer <JWT>`` (``app/middleware/auth.py``; ieugwasr ``R/query.R``
  ``api_query``, which reads the token from ``OPENGWAS_JWT``, ``R/api.R`` ``get_opengwas_jwt``). A missing,
  invalid or expired token is HTTP 401 ``{"message": ...}`` (``app/middleware/errors.py``, ``app/resources/jwt.py``;
  tokens last 14 days, so the expiry in the token is checked before any request).
- Allowance: HTTP 429 ``{"message": "Too many requests. Allowance: ..."}`` with ``Retry-After`` and
  ``X-Allowance-Limit/Remaining/Reset`` (``app/middleware/limiter.py``); 100,000 per 10 minutes for a standard
  account (``app/resources/globals.py``). ieugwasr stops until ``retry-after`` has passed (``set_reset``,
  ``check_reset``); here a wait up to ``max_wait`` seconds is slept through, a longer one stops with the reset time.
  5xx and network errors are retried with exponential backoff (ieugwasr retries 5xx; tenacity does the retrying).
- ``GET {API_URL}status`` answers ``{"API version": ...}`` without a token (``app/apis/status.py``).
- LD proxies as TwoSampleMR's ``extract_outcome_data`` does them (``R/query.R``): one pass without proxies, then
  proxies (r2 >= 0.8, alleles aligned, palindromic proxies allowed with MAF < 0.3) only for the variants each study
  lacked; records cleaned as its ``format_d`` does: rows without beta and P dropped, a missing SE recovered from
  beta and P, SE <= 0, eaf outside (0, 1) and beta = -9 set missing, one target per proxy variant and study.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .._paths import cache_dir, manifest_dir

__all__ = [
    "API_URL", "TOKEN_URL", "MAX_PAIRS", "FIXTURE_HEADER", "DATASET_ID", "OpenGWASError", "TokenError",
    "RateLimitError", "Query", "Outcomes", "Client", "read_token", "token_expiry", "plan_batches",
    "allowance_cost", "load_map", "open_outcomes", "cached_entries", "tidy",
]

API_URL = "https://api.opengwas.io/api/"
TOKEN_URL = "https://api.opengwas.io/profile/"
MAX_PAIRS = 64  # N(id) x N(variant) per request (the server's limit)
FIXTURE_HEADER = "X-Il6repro-Fixture"
DATASET_ID = "opengwas_ubm_b"
BATCH = "ubm-b"
REQUIRED_FIELDS = ("id", "rsid", "ea", "nea", "beta", "se", "p")
TOKEN_FILE = Path("~/.config/il6repro/opengwas_jwt")


class OpenGWASError(RuntimeError):
    """OpenGWAS could not answer the query (the message is one line saying what is needed)."""


class TokenError(OpenGWASError):
    """No token, an expired token, or a token the server rejected (HTTP 401/403)."""


class RateLimitError(OpenGWASError):
    """The allowance is used up for longer than we are willing to wait (HTTP 429)."""


class _Refused(OpenGWASError):
    """A 4xx answer other than 401/403/429 (the request itself is wrong)."""


class _Transient(Exception):
    """A failure worth retrying (429 within the wait limit, 5xx, network); ``wait`` from Retry-After if given."""

    def __init__(self, message: str, wait: float | None = None):
        super().__init__(message)
        self.wait = wait


# --------------------------------------------------------------------------------------------------- token
def token_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT as a UTC datetime (``None`` if the token carries none or is not a JWT).

    The signature is not checked (the server does that); the claim only lets us say "expired" before a request.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def read_token(token: str | None = None, *, now: datetime | None = None) -> str:
    """The OpenGWAS token: ``token``, else ``OPENGWAS_JWT``, else the file named by ``OPENGWAS_JWT_FILE`` (default
    ``~/.config/il6repro/opengwas_jwt``). Raises :class:`TokenError` (one line, never the token) when there is
    none or it has expired."""
    tok = (token or os.environ.get("OPENGWAS_JWT", "")).strip()
    if not tok:
        path = Path(os.environ.get("OPENGWAS_JWT_FILE") or TOKEN_FILE).expanduser()
        if path.is_file():
            tok = path.read_text().strip()
    if not tok:
        raise TokenError(f"no OpenGWAS token: set OPENGWAS_JWT (or OPENGWAS_JWT_FILE to a file holding it); get a "
                         f"free one by logging in at {TOKEN_URL} and generating a token")
    exp = token_expiry(tok)
    if exp is not None and exp <= (now or datetime.now(UTC)):
        raise TokenError(f"the OpenGWAS token expired on {exp:%Y-%m-%d %H:%M} UTC (tokens last 14 days): generate "
                         f"a new one at {TOKEN_URL} and set OPENGWAS_JWT")
    return tok


# ------------------------------------------------------------------------------------------------ queries
@dataclass(frozen=True)
class Query:
    """One OpenGWAS associations query: what the cache is keyed by (together with the API version)."""

    rsids: tuple[str, ...]
    ids: tuple[str, ...]
    proxies: bool = True
    r2: float = 0.8
    align_alleles: int = 1
    palindromes: int = 1
    maf_threshold: float = 0.3
    population: str = "EUR"
    base_url: str = API_URL

    def __post_init__(self):
        object.__setattr__(self, "rsids", tuple(sorted(set(self.rsids))))
        object.__setattr__(self, "ids", tuple(sorted(set(self.ids), key=_id_order)))
        if not self.rsids or not self.ids:
            raise OpenGWASError("an OpenGWAS query needs at least one rsid and one GWAS id")
        if self.align_alleles != 1:
            raise OpenGWASError("align_alleles must be 1: unaligned proxy records keep the proxy's alleles under "
                                "the target's rsid and cannot be harmonised")

    def as_dict(self) -> dict:
        return {**asdict(self), "rsids": list(self.rsids), "ids": list(self.ids)}

    def key(self) -> str:
        """sha256 of the canonical query (first 20 hex digits name the cache folder)."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    def body(self, rsids: Sequence[str], ids: Sequence[str], proxies: bool) -> dict:
        """The JSON body of one request."""
        return {"variant": list(rsids), "id": list(ids), "proxies": int(proxies), "population": self.population,
                "r2": self.r2, "align_alleles": self.align_alleles, "palindromes": self.palindromes,
                "maf_threshold": self.maf_threshold}


def _id_order(gid: str):
    head, _, num = gid.rpartition("-")
    return (head, int(num)) if num.isdigit() else (gid, -1)


def plan_batches(rsids: Sequence[str], ids: Sequence[str], max_pairs: int = MAX_PAIRS
                 ) -> list[tuple[list[str], list[str]]]:
    """Split rsids x ids into requests of at most ``max_pairs`` pairs: fewest requests, then least allowance."""
    rsids, ids = list(rsids), list(ids)
    if not rsids or not ids:
        return []
    best = None
    for v in range(1, min(len(rsids), max_pairs) + 1):
        i = min(len(ids), max_pairs // v)
        n = math.ceil(len(rsids) / v) * math.ceil(len(ids) / i)
        cand = (n, n * max(v, i), v, i)
        best = cand if best is None or cand < best else best
    _, _, v, i = best
    return [(rsids[a:a + v], ids[b:b + i]) for a in range(0, len(rsids), v) for b in range(0, len(ids), i)]


def allowance_cost(n_ids: int, n_variants: int, proxies: bool) -> int:
    """What one request costs against the allowance (the server's formula, ``app/apis/assoc.py``)."""
    return max(n_ids, n_variants) * (1 if proxies else 5)


# ------------------------------------------------------------------------------------------------- client
class Client:
    """A minimal OpenGWAS API client: bearer token, retry with backoff, one line per failure.

    Parameters
    ----------
    token : str
        The JWT (see :func:`read_token`); sent as ``Authorization: Bearer``, never printed.
    base_url : str
        API root (default :data:`API_URL`).
    transport : httpx.BaseTransport, optional
        For tests (``httpx.MockTransport``); default the network.
    max_tries, backoff, max_wait
        Tries per request (429 / 5xx / network errors), first backoff in seconds (doubling, at most 60 s), and the
        longest ``Retry-After`` we sleep through before giving up with :class:`RateLimitError`.
    sleep : callable
        ``time.sleep`` (tests pass a recorder).
    """

    def __init__(self, token: str, base_url: str = API_URL, *, transport=None, timeout: float = 300.0,
                 max_tries: int = 5, backoff: float = 1.0, max_wait: float = 900.0,
                 sleep: Callable[[float], None] = time.sleep):
        import httpx

        from .. import __version__

        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, headers={
            "Authorization": f"Bearer {token}", "X-Api-Source": f"il6repro/{__version__}"})
        self.max_tries, self.backoff, self.max_wait, self._sleep = max_tries, backoff, max_wait, sleep
        self.n_requests = 0
        self.fixture = False
        self.waited = 0.0

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self._http.close()

    def _once(self, method: str, path: str, payload: dict | None):
        import httpx

        self.n_requests += 1
        try:
            r = self._http.request(method, path, json=payload)
        except httpx.TransportError as exc:
            raise _Transient(f"cannot reach {self.base_url} ({type(exc).__name__}: {exc})") from None
        if FIXTURE_HEADER.lower() in (k.lower() for k in r.headers):
            self.fixture = True
        if r.status_code < 300:
            return r
        msg = _server_message(r)
        if r.status_code in (401, 403):
            raise TokenError(f"OpenGWAS rejected the token (HTTP {r.status_code}: {msg}): generate a new one at "
                             f"{TOKEN_URL} and set OPENGWAS_JWT")
        if r.status_code == 429:
            wait = _retry_after(r)
            if wait is not None and wait > self.max_wait:
                raise RateLimitError(f"OpenGWAS allowance used up (HTTP 429: {msg}); it resets in about "
                                     f"{wait / 60:.0f} min: rerun then (nothing of this query was cached)")
            raise _Transient(f"HTTP 429: {msg}", wait)
        if r.status_code >= 500:
            raise _Transient(f"HTTP {r.status_code}: {msg}")
        raise _Refused(f"OpenGWAS refused the request to {path} (HTTP {r.status_code}: {msg})")

    def request(self, method: str, path: str, payload: dict | None = None):
        """One API call with retries; returns the ``httpx.Response`` (2xx) or raises :class:`OpenGWASError`."""
        from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

        def wait(state) -> float:
            exc = state.outcome.exception()
            backoff = min(self.backoff * 2 ** (state.attempt_number - 1), 60.0)
            w = exc.wait if isinstance(exc, _Transient) and exc.wait is not None else backoff
            self.waited += w
            return w

        try:
            for attempt in Retrying(stop=stop_after_attempt(self.max_tries), wait=wait, sleep=self._sleep,
                                    retry=retry_if_exception_type(_Transient), reraise=True):
                with attempt:
                    return self._once(method, path, payload)
        except _Transient as exc:
            raise OpenGWASError(f"OpenGWAS did not answer after {self.max_tries} tries (last: {exc}); this source "
                                f"needs network access to {self.base_url} or a cached copy of the same query"
                                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def api_version(self) -> str:
        """The version the server reports at ``GET status`` ("unknown" if it does not say; a server that cannot
        be reached raises, as the associations would)."""
        try:
            r = self.request("GET", "status")
            return str(r.json().get("API version", "unknown"))
        except (_Refused, ValueError, AttributeError):
            return "unknown"

    def associations(self, query: Query, rsids: Sequence[str], ids: Sequence[str], proxies: bool
                     ) -> tuple[dict, bytes]:
        """POST one batch; returns (request body, raw response bytes) after checking the answer's shape."""
        if len(rsids) * len(ids) > MAX_PAIRS:
            raise OpenGWASError(f"a request of {len(rsids)} x {len(ids)} pairs exceeds the API's {MAX_PAIRS}")
        body = query.body(rsids, ids, proxies)
        raw = self.request("POST", "associations", body).content
        _parse(raw)  # raises on a malformed answer, before anything is cached
        return body, raw


def _server_message(r) -> str:
    try:
        data = r.json()
        msg = data.get("message", "") if isinstance(data, dict) else ""
    except ValueError:
        msg = ""
    return " ".join(str(msg or r.text[:200] or r.reason_phrase).split())


def _retry_after(r) -> float | None:
    v = r.headers.get("Retry-After")
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


def _parse(raw: bytes) -> list[dict]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise OpenGWASError(f"OpenGWAS answered something that is not JSON: {raw[:120]!r}") from None
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise OpenGWASError(f"OpenGWAS answered {type(data).__name__}, not a list of associations: {raw[:120]!r}")
    for rec in data:
        missing = [k for k in REQUIRED_FIELDS if k not in rec]
        if missing:
            raise OpenGWASError(f"an OpenGWAS association record lacks {missing}: {json.dumps(rec)[:160]}")
    return data


def _fetch(query: Query, client: Client, progress: bool) -> list[tuple[dict, bytes]]:
    """Every request of the query: one pass without proxies, then proxies for what each study lacked."""
    from tqdm import tqdm

    batches = plan_batches(query.rsids, query.ids)
    out = []
    with tqdm(total=len(batches), desc="OpenGWAS ubm-b", unit="request", disable=not progress,
              file=sys.stderr) as bar:
        for rs, ids in batches:
            out.append(client.associations(query, rs, ids, proxies=False))
            bar.update()
        if query.proxies:
            found: dict[str, set] = {g: set() for g in query.ids}
            for _, raw in out:
                for rec in _parse(raw):
                    found.setdefault(rec["id"], set()).add(rec["rsid"])
            groups: dict[tuple, list[str]] = {}
            for gid in query.ids:
                missed = tuple(r for r in query.rsids if r not in found[gid])
                if missed:
                    groups.setdefault(missed, []).append(gid)
            second = [b for missed, gids in groups.items() for b in plan_batches(missed, gids)]
            bar.total += len(second)
            bar.set_description("OpenGWAS ubm-b (LD proxies)")
            for rs, ids in second:
                out.append(client.associations(query, rs, ids, proxies=True))
                bar.update()
    return out


# -------------------------------------------------------------------------------------------------- cache
def _cache_root() -> Path:
    return cache_dir() / "opengwas"


def _slug(version: str) -> str:
    return "".join(c if c.isalnum() or c in ".-_" else "_" for c in version) or "unknown"


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def cached_entries(query: Query) -> list[dict]:
    """The cache entries of ``query`` (one per API version), newest first; each is its ``meta.json`` + ``path``."""
    folder = _cache_root() / query.key()[:20]
    out = []
    for meta in folder.glob("*/meta.json"):
        m = json.loads(meta.read_text())
        if m.get("query_key") == query.key():
            out.append({**m, "path": str(meta.parent)})
    return sorted(out, key=lambda m: m["fetched_at"], reverse=True)


def _store(query: Query, version: str, exchanges: list[tuple[dict, bytes]], *, fixture: bool,
           n_requests: int) -> dict:
    """Write the whole query's responses as one cache entry (temporary folder, then one atomic rename)."""
    final = _cache_root() / query.key()[:20] / _slug(version)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
    try:
        sums = {}
        for k, (body, raw) in enumerate(exchanges, 1):
            (tmp / f"{k:04d}.request.json").write_text(json.dumps(body, sort_keys=True))
            (tmp / f"{k:04d}.json").write_bytes(raw)
            sums[f"{k:04d}.json"] = _sha(raw)
        meta = {"query": query.as_dict(), "query_key": query.key(), "api_version": version,
                "base_url": query.base_url, "fixture": bool(fixture or query.base_url != API_URL),
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"), "responses": sums,
                "bundle_sha256": _bundle_sha(sums), "n_requests": n_requests,
                "allowance_cost": sum(allowance_cost(len(b["id"]), len(b["variant"]), bool(b["proxies"]))
                                      for b, _ in exchanges)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return {**meta, "path": str(final)}


def _bundle_sha(sums: dict[str, str]) -> str:
    return _sha("".join(f"{k} {v}\n" for k, v in sorted(sums.items())).encode())


def _load_entry(entry: dict) -> list[dict] | None:
    """The records of a cache entry, or ``None`` if a response file changed since it was written."""
    folder = Path(entry["path"])
    records = []
    for name, sha in sorted(entry["responses"].items()):
        p = folder / name
        if not p.is_file():
            return None
        raw = p.read_bytes()
        if _sha(raw) != sha:
            return None
        records.extend(_parse(raw))
    return records


# ----------------------------------------------------------------------------------------------- mapping
def load_map(path: str | Path | None = None) -> pd.DataFrame:
    """``data_manifest/ukb/opengwas_map.csv``: the project's IDPs with their ``ubm-b`` ids (built by
    ``tools/build_opengwas_map.py``; unmatched IDPs have ``status`` "unmatched" and a ``reason``)."""
    p = Path(path) if path else manifest_dir() / "ukb" / "opengwas_map.csv"
    return pd.read_csv(p, dtype={"opengwas_id": str}, keep_default_na=False, na_values={"sample_size": [""]})


# --------------------------------------------------------------------------------------------- tidying
def tidy(records: list[dict], query: Query, mapping: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """API records -> the association table :func:`il6repro.genetics.scan.scan` takes, plus every drop.

    Returns ``(assoc, dropped)``. ``assoc`` has one row per rsid x IDP: ``snp, idp, effect_allele, other_allele,
    eaf, beta, se, t, p, n`` (as :func:`il6repro.genetics.assoc.associate`) and the provenance columns
    ``opengwas_id, proxy, proxy_snp, allele_swapped_across_studies``. A variant's alleles are made the same across
    studies (a swapped record has its beta sign and eaf flipped), so the scan's one-decision-per-variant
    harmonisation sees one orientation, and a variant usable in only some of the studies that answered is left out
    of all (the scan fits one variant set per exposure). ``dropped`` lists each rsid x study pair with no usable
    record and why.
    """
    m = mapping.set_index("opengwas_id")
    cols = ["id", "rsid", "ea", "nea", "eaf", "beta", "se", "p", "n", "chr", "position", "proxy", "proxy_snp"]
    df = pd.DataFrame(records)
    for c in cols:
        if c not in df:
            df[c] = np.nan
    df = df[cols].copy()
    drops = []

    def drop(mask, reason):
        nonlocal df
        if mask.any():
            drops.append(df.loc[mask, ["id", "rsid"]].assign(reason=reason))
            df = df.loc[~mask].copy()

    df = df[df["id"].isin(query.ids) & df["rsid"].isin(query.rsids)].copy()
    for c in ("eaf", "beta", "se", "p", "n"):
        df[c] = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
    df["proxy"] = df["proxy"].map(lambda v: bool(v) if isinstance(v, bool) else str(v).lower() == "true")
    df["proxy_snp"] = df["proxy_snp"].where(df["proxy"], "")
    # direct hits (first pass) come before proxies; one record per study x target
    df = df.sort_values("proxy", kind="stable").drop_duplicates(["id", "rsid"])
    # TwoSampleMR format_d: a proxy variant may stand for one target per study only
    prox = df["proxy"] & df.duplicated(["id", "proxy_snp"])
    drop(prox, "its LD proxy already stands for another variant in this study")
    drop(df["beta"].isna() & df["p"].isna(), "no beta and no P in OpenGWAS")
    fill = (df["se"].isna() | (df["se"] == 0)) & df["beta"].notna() & df["p"].notna() & (df["p"] > 0)
    from .. import _dist

    df.loc[fill, "se"] = df.loc[fill, "beta"].abs() / np.abs(_dist.norm_ppf(df.loc[fill, "p"] / 2))
    df.loc[df["se"] <= 0, "se"] = np.nan
    df.loc[(df["eaf"] <= 0) | (df["eaf"] >= 1), "eaf"] = np.nan
    df.loc[df["beta"] == -9, "beta"] = np.nan
    for c in ("ea", "nea"):
        df[c] = df[c].astype(str).str.upper().str.strip()
    drop(df["beta"].isna() | df["se"].isna(), "missing beta or SE in OpenGWAS")
    drop(~(df["ea"].str.fullmatch(r"[ACGT]+") & df["nea"].str.fullmatch(r"[ACGT]+")), "allele codes not A/C/G/T")
    # one orientation per variant across studies
    ref = df.drop_duplicates("rsid").set_index("rsid")[["ea", "nea"]]
    rea, rnea = df["rsid"].map(ref["ea"]), df["rsid"].map(ref["nea"])
    swap = (df["ea"] == rnea) & (df["nea"] == rea)
    drop(~swap & ~((df["ea"] == rea) & (df["nea"] == rnea)), "alleles differ from this variant's in other studies")
    swap = swap.loc[df.index]
    df.loc[swap, "beta"] = -df.loc[swap, "beta"]
    df.loc[swap, "eaf"] = 1 - df.loc[swap, "eaf"]
    df.loc[swap, ["ea", "nea"]] = df.loc[swap, ["nea", "ea"]].to_numpy()
    # the scan fits one variant set per exposure for all outcomes: a variant some studies lack is left out of all
    # (studies that answered nothing at all are simply absent outcomes)
    n_ids = df.groupby("rsid")["id"].nunique()
    patchy = df["rsid"].map(n_ids) < df["id"].nunique()
    drop(patchy, "usable in only some studies: left out of all, so every IDP uses the same variants")
    swap = swap.loc[df.index]
    n_meta = df["id"].map(m["sample_size"]).astype(float)
    df["n"] = df["n"].fillna(n_meta)
    assoc = pd.DataFrame({
        "snp": df["rsid"].to_numpy(), "idp": df["id"].map(m["idp"]).to_numpy(),
        "effect_allele": df["ea"].to_numpy(), "other_allele": df["nea"].to_numpy(), "eaf": df["eaf"].to_numpy(float),
        "beta": df["beta"].to_numpy(float), "se": df["se"].to_numpy(float),
        "t": (df["beta"] / df["se"]).to_numpy(float), "p": df["p"].to_numpy(float), "n": df["n"].to_numpy(float),
        "opengwas_id": df["id"].to_numpy(), "proxy": df["proxy"].to_numpy(bool),
        "proxy_snp": df["proxy_snp"].to_numpy(), "allele_swapped_across_studies": swap.to_numpy(bool)})
    order = {g: k for k, g in enumerate(query.ids)}
    assoc = assoc.assign(_o=assoc["opengwas_id"].map(order)).sort_values(["snp", "_o"]).drop(columns="_o")
    got = set(zip(df["id"], df["rsid"], strict=True))
    dropped_pairs = {(d.id, d.rsid) for x in drops for d in x.itertuples()}
    why_absent = (f"not in OpenGWAS, and no LD proxy (r2 >= {query.r2:g}) found" if query.proxies
                  else "not in OpenGWAS (LD proxies not requested)")
    absent = [{"id": g, "rsid": r, "reason": why_absent} for g in query.ids for r in query.rsids
              if (g, r) not in got and (g, r) not in dropped_pairs]
    dropped = pd.concat(drops + [pd.DataFrame(absent, columns=["id", "rsid", "reason"])], ignore_index=True)
    dropped = dropped.rename(columns={"id": "opengwas_id", "rsid": "snp"})
    dropped.insert(1, "idp", dropped["opengwas_id"].map(m["idp"]))
    return assoc.reset_index(drop=True), dropped


# ------------------------------------------------------------------------------------------- entry point
@dataclass
class Outcomes:
    """SNP-outcome associations from OpenGWAS, in the shape the MR scan takes, with their provenance."""

    assoc: pd.DataFrame
    dropped: pd.DataFrame
    idp_info: pd.DataFrame
    query: Query
    api_version: str
    evidence: str
    sha256: str
    fetched_at: str
    n_requests: int          # requests made by this call (0: read from the cache)
    n_requests_query: int    # requests the query took when it was fetched
    allowance_cost: int
    cache_path: Path
    notes: list[str] = field(default_factory=list)

    @property
    def is_fixture(self) -> bool:
        return self.evidence != "opengwas_real"

    @property
    def source_label(self) -> str:
        what = "api" if not self.is_fixture else "fixture"
        return (f"{what} {self.query.base_url} (query {self.query.key()[:12]}, API {self.api_version}, fetched "
                f"{self.fetched_at})")

    def describe(self) -> pd.DataFrame:
        """A one-column summary for a notebook (no participant data: these are published summary statistics)."""
        rows = {
            "source": ("recorded FIXTURE (not data)" if self.is_fixture else "OpenGWAS, live API") +
                      f": {self.query.base_url}",
            "batch": f"{BATCH} (Smith et al. 2021, UK Biobank brain-IDP GWAS)",
            "API version": self.api_version, "fetched (UTC)": self.fetched_at,
            "this call": "read from the cache (0 requests)" if self.n_requests == 0 else
                         f"{self.n_requests} request(s)",
            "requests of the query": self.n_requests_query, "allowance cost": self.allowance_cost,
            "responses sha256": self.sha256,
            "GWAS ids x rsids": f"{len(self.query.ids)} x {len(self.query.rsids)}",
            "associations used": len(self.assoc),
            "answered by an LD proxy": int(self.assoc["proxy"].sum()),
            "pairs without a usable record": len(self.dropped),
            "outcome N (min-max)": (f"{self.assoc['n'].min():,.0f}-{self.assoc['n'].max():,.0f}"
                                    if len(self.assoc) else "-"),
        }
        return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))


def open_outcomes(instruments: pd.DataFrame | Iterable[str], *, idps: Sequence[str] | None = None,
                  proxies: bool = True, r2: float = 0.8, palindromes: int = 1, maf_threshold: float = 0.3,
                  population: str = "EUR", api_version: str | None = None, refresh: bool = False,
                  token: str | None = None, base_url: str | None = None, transport=None, progress: bool = True,
                  max_tries: int = 5, backoff: float = 1.0, max_wait: float = 900.0,
                  sleep: Callable[[float], None] = time.sleep) -> Outcomes:
    """SNP-outcome associations of the instruments on the project's IDPs, from OpenGWAS ``ubm-b``.

    Parameters
    ----------
    instruments : DataFrame or iterable of str
        The instrument table (its ``snp`` column) or rsids.
    idps : sequence of str, optional
        Project IDP names (``data_manifest/ukb/idps.csv``); default every IDP mapped to ``ubm-b``.
    proxies, r2, palindromes, maf_threshold, population
        LD-proxy settings (TwoSampleMR's defaults); part of the cache key.
    api_version : str, optional
        Use the cache entry of this API version (default: the newest cached, else what the server reports).
    refresh : bool
        Fetch again even when cached.
    token : str, optional
        Default ``OPENGWAS_JWT`` / ``OPENGWAS_JWT_FILE`` (only needed when the query is not cached).
    base_url : str, optional
        Default ``OPENGWAS_API_URL`` or :data:`API_URL`; any other URL yields fixture-labelled data.
    transport, max_tries, backoff, max_wait, sleep
        Passed to :class:`Client`.

    Raises
    ------
    OpenGWASError
        One line saying what is needed (a token, network access, a wait for the allowance). The twin is never
        substituted.
    """
    rsids = list(instruments["snp"]) if isinstance(instruments, pd.DataFrame) else list(instruments)
    mp = load_map()
    mapped = mp[mp["status"] == "mapped"]
    if idps is None:
        idps = list(mapped["idp"])
    unknown = sorted(set(idps) - set(mp["idp"]))
    if unknown:
        raise OpenGWASError(f"IDP(s) not in data_manifest/ukb/idps.csv: {unknown[:5]}")
    unmapped = mp[mp["idp"].isin(idps) & (mp["status"] != "mapped")]
    if len(unmapped):
        raise OpenGWASError(f"IDP(s) without a {BATCH} id (see data_manifest/ukb/opengwas_map.csv): "
                            f"{', '.join(unmapped['idp'].head(5))}")
    sel = mapped[mapped["idp"].isin(idps)]
    url = base_url or os.environ.get("OPENGWAS_API_URL") or API_URL
    url = url if url.endswith("/") else url + "/"
    q = Query(tuple(rsids), tuple(sel["opengwas_id"]), proxies=proxies, r2=r2, palindromes=palindromes,
              maf_threshold=maf_threshold, population=population, base_url=url)
    entry, records, notes = None, None, []
    if not refresh:
        for e in cached_entries(q):
            if api_version and e["api_version"] != api_version:
                continue
            records = _load_entry(e)
            if records is not None:
                entry = e
                break
            notes.append(f"cache entry {e['path']} changed since it was written: not used")
    n_req = 0
    if entry is None:
        tok = read_token(token)
        with Client(tok, url, transport=transport, max_tries=max_tries, backoff=backoff, max_wait=max_wait,
                    sleep=sleep) as client:
            version = client.api_version()
            if api_version and version != api_version:
                raise OpenGWASError(f"API version {api_version} requested but not cached, and the server reports "
                                    f"{version}: drop api_version or use {version}")
            exchanges = _fetch(q, client, progress)
            n_req = client.n_requests
            entry = _store(q, version, exchanges, fixture=client.fixture, n_requests=n_req)
        records = [rec for _, raw in exchanges for rec in _parse(raw)]
    assoc, dropped = tidy(records, q, mp)
    evidence = "opengwas_real" if entry["base_url"] == API_URL and not entry["fixture"] else "recorded_fixture"
    info = ukb_idps()
    info = info[info["idp"].isin(sel["idp"])].merge(sel[["idp", "opengwas_id", "sample_size"]], on="idp")
    out = Outcomes(assoc, dropped, info.reset_index(drop=True), q, entry["api_version"], evidence,
                   entry["bundle_sha256"], entry["fetched_at"], n_req, entry["n_requests"], entry["allowance_cost"],
                   Path(entry["path"]), notes)
    from . import _log_use

    _log_use(DATASET_ID, out.source_label, {"responses": out.sha256})
    return out


def ukb_idps() -> pd.DataFrame:
    """The project's IDP table (``data_manifest/ukb/idps.csv``)."""
    return pd.read_csv(manifest_dir() / "ukb" / "idps.csv")


# ---------------------------------------------------------------------------------------- command line
def default_query(**kw) -> Query:
    """The paper's query: every instrument (``data_manifest/ukb/instruments.csv``) on every mapped IDP."""
    from ..twins.ukb import instruments

    mp = load_map()
    url = kw.pop("base_url", None) or os.environ.get("OPENGWAS_API_URL") or API_URL
    return Query(tuple(instruments()["snp"]), tuple(mp.loc[mp["status"] == "mapped", "opengwas_id"]),
                 base_url=url if url.endswith("/") else url + "/", **kw)


def plan(query: Query) -> dict:
    """What fetching ``query`` costs before any proxy lookup: requests, pairs and allowance (no network)."""
    batches = plan_batches(query.rsids, query.ids)
    return {"GWAS ids": len(query.ids), "rsids": len(query.rsids), "pairs": len(query.ids) * len(query.rsids),
            "requests (first pass, no proxies)": len(batches),
            "largest request (ids x rsids)": f"{max(len(i) for _, i in batches)} x {max(len(r) for r, _ in batches)}",
            "allowance cost of the first pass": sum(allowance_cost(len(i), len(r), False) for r, i in batches),
            "allowance per 10 minutes (standard account)": 100_000,
            "LD-proxy pass": "only for variants a study lacks (requests of up to 64 pairs, cost 1 per id or rsid)"}


def token_status() -> str:
    """Whether a token is configured and when it expires (never the token itself)."""
    try:
        tok = read_token()
    except TokenError as exc:
        return str(exc)
    exp = token_expiry(tok)
    return f"token found; expires {exp:%Y-%m-%d %H:%M} UTC" if exp else "token found (no expiry claim)"
