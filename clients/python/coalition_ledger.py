"""coalition_ledger.py — reference client for the Coalition Ledger partner API (one file, copy it).

Dependencies: the Python standard library and `cryptography` (Debian: python3-cryptography).

    from coalition_ledger import LedgerClient, LedgerError, verify_webhook
    ledger = LedgerClient("http://127.0.0.1:8080", "coffee-1", ".local/keys/coffee.pem")
    answer = ledger.earn("card-1001", 500, "till-1")
    print(answer["transaction"]["id"], answer["balance"])

Every request is signed as SPEC section 9 says (RFC 9421, Ed25519, byte for byte the profile of
`ledgerctl call`): covered components ("@method" "@path" "@query"), plus "content-digest" (RFC 9530)
and "idempotency-key" on requests with a body; created, keyid, alg="ed25519".

Retries: one Idempotency-Key per logical call (random unless given), reused on every attempt, so a
retry can only replay the first answer. Retried: no answer (connection error, timeout), 503 (after
its Retry-After) and 409 request_in_progress (the same request still running). Never retried: any
other 4xx or 5xx. Attempts and total time are bounded; the backoff is exponential with full jitter.
A failure raises LedgerError carrying the RFC 9457 problem and the Idempotency-Key to retry with.

verify_webhook() checks a Standard Webhooks delivery signed by the ledger key (v1a, Ed25519).
"""

import base64
import email.utils
import hashlib
import json
import random
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["LedgerClient", "LedgerError", "Response", "WebhookVerificationError", "verify_webhook"]


class LedgerError(Exception):
    """A refused or unanswered request. `status` is the HTTP status (0: no answer at all), `code`
    the problem's stable code, `field` the input it names (or None), `problem` the whole RFC 9457
    object, `idempotency_key` the key to retry the same call with later."""

    def __init__(self, status, problem, idempotency_key=None, retry_after_s=None):
        self.status = status
        self.problem = problem
        self.code = problem.get("code")
        self.field = problem.get("field")
        self.detail = problem.get("detail")
        self.idempotency_key = idempotency_key
        self.retry_after_s = retry_after_s
        super().__init__(f"{status} {self.code}: {self.detail or problem.get('title', '')}")


class Response:
    """One answer: `status`, `headers` (lower-case names), `body` (bytes), `json` (parsed or None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A signed request is never re-sent elsewhere: a 3xx is an answer like any other."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _sf_string(text):
    """RFC 8941 sf-string: quoted, with backslash before `"` and `\\`."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _retry_after_s(value):
    """Retry-After as seconds (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    if value.strip().isdigit():
        return int(value.strip())
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class LedgerClient:
    """A partner's (or operator's) signed session with one ledger.

    url: "http://host:port"; key_id: the id the operator registered; key_file: the PKCS#8 PEM
    `ledgerctl keygen` wrote. timeout_s bounds each wait of an attempt (connect, each read: what
    urllib offers), max_attempts and max_total_s the retries of one call."""

    def __init__(self, url, key_id, key_file, timeout_s=15.0, max_attempts=5, max_total_s=60.0,
                 backoff_s=0.2, backoff_max_s=5.0):
        self.url = url.rstrip("/")
        self.key_id = key_id
        with open(key_file, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{key_file} is not an Ed25519 private key")
        self._key = key
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.max_total_s = max_total_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s

    def sign(self, method, target, body=None, idempotency_key=None, created=None):
        """The signature headers for METHOD TARGET ("/path?query") and the exact body bytes."""
        path, question, query = target.partition("?")
        components = [("@method", method), ("@path", path), ("@query", "?" + query if question else "?")]
        headers = {}
        if body is not None:
            digest = "sha-256=:" + _b64(hashlib.sha256(body).digest()) + ":"
            components += [("content-digest", digest), ("idempotency-key", idempotency_key)]
            headers.update({"Content-Digest": digest, "Idempotency-Key": idempotency_key,
                            "Content-Type": "application/json"})
        created = int(time.time()) if created is None else created
        names = " ".join(f'"{name}"' for name, _ in components)
        params = f'({names});created={created};keyid={_sf_string(self.key_id)};alg="ed25519"'
        base = "".join(f'"{name}": {value}\n' for name, value in components) + f'"@signature-params": {params}'
        headers["Signature-Input"] = "sig1=" + params
        headers["Signature"] = "sig1=:" + _b64(self._key.sign(base.encode("utf-8"))) + ":"
        return headers

    def _send(self, method, target, body, idempotency_key, accept, timeout_s):
        """One attempt: a Response, or None with the error when nothing usable came back."""
        headers = self.sign(method, target, body, idempotency_key)
        if accept:
            headers["Accept"] = accept
        request = urllib.request.Request(self.url + target, data=body, headers=headers, method=method)
        try:
            try:
                answer = _opener.open(request, timeout=timeout_s)
            except urllib.error.HTTPError as refused:  # 3xx, 4xx, 5xx: still an answer
                answer = refused
            with answer:
                return Response(answer.status, answer.headers.items(), answer.read()), None
        except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out (TimeoutError)
            return None, error

    def call(self, method, target, body=None, idempotency_key=None, accept=None):
        """Sends a signed request, retrying safely, and returns the 2xx Response; raises LedgerError.

        body: a dict (sent as compact JSON), bytes, or None (no body: GET). A request with a body
        carries idempotency_key (random if None), the same on every attempt."""
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body, separators=(",", ":")).encode("utf-8")
        if body is not None and idempotency_key is None:
            idempotency_key = secrets.token_hex(16)
        deadline = time.monotonic() + self.max_total_s
        attempt = 0
        while True:
            attempt += 1
            timeout_s = max(0.001, min(self.timeout_s, deadline - time.monotonic()))
            response, error = self._send(method, target, body, idempotency_key, accept, timeout_s)
            if response is not None and 200 <= response.status < 300:
                return response
            wait = None
            if response is None:
                problem = {"code": "no_answer", "title": "No answer", "detail": str(error)}
                status = 0
            else:
                status = response.status
                problem = response.json if isinstance(response.json, dict) else {
                    "code": f"http_{status}", "title": "Unexpected answer",
                    "detail": response.body[:200].decode("utf-8", "replace")}
                wait = _retry_after_s(response.headers.get("retry-after"))
            retryable = status in (0, 503) or (status == 409 and problem.get("code") == "request_in_progress")
            # full jitter on an exponential bound; Retry-After is a floor
            delay = random.uniform(0, min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1)))
            delay = max(delay, wait or 0)
            if not retryable or attempt >= self.max_attempts or time.monotonic() + delay > deadline:
                raise LedgerError(status, problem, idempotency_key, wait)
            time.sleep(delay)

    def _post(self, target, body, idempotency_key):
        return self.call("POST", target, body, idempotency_key).json

    def _get(self, target, query=None):
        query = {k: v for k, v in (query or {}).items() if v is not None}
        return self.call("GET", target + ("?" + urllib.parse.urlencode(query) if query else "")).json

    @staticmethod
    def _segment(text):
        """One path segment as sent and signed (member refs and ids are already URL-safe)."""
        return urllib.parse.quote(str(text), safe=":")

    def earn(self, member, points, reference, idempotency_key=None):
        """POST /v1/earn: {"transaction", "balance"}."""
        return self._post("/v1/earn", {"member": member, "points": points, "reference": reference}, idempotency_key)

    def burn(self, member, points, reference, idempotency_key=None):
        """POST /v1/burn: {"transaction" (with "consumed"), "balance"}; 422 insufficient_points."""
        return self._post("/v1/burn", {"member": member, "points": points, "reference": reference}, idempotency_key)

    def hold(self, member, points, reference, ttl_seconds=None, idempotency_key=None):
        """POST /v1/holds: {"hold", "balance"}."""
        body = {"member": member, "points": points, "reference": reference}
        if ttl_seconds is not None:
            body["ttl_seconds"] = ttl_seconds
        return self._post("/v1/holds", body, idempotency_key)

    def capture(self, hold_id, points=None, idempotency_key=None):
        """POST /v1/holds/{id}/capture (all of the hold, or `points` of it): a burn transaction."""
        body = {} if points is None else {"points": points}
        return self._post(f"/v1/holds/{self._segment(hold_id)}/capture", body, idempotency_key)

    def void(self, hold_id, idempotency_key=None):
        """POST /v1/holds/{id}/void: releases the hold."""
        return self._post(f"/v1/holds/{self._segment(hold_id)}/void", {}, idempotency_key)

    def reverse(self, transaction_id, reference, points=None, idempotency_key=None):
        """POST /v1/transactions/{id}/reverse (all that is reversible, or `points`)."""
        body = {"reference": reference} if points is None else {"points": points, "reference": reference}
        return self._post(f"/v1/transactions/{self._segment(transaction_id)}/reverse", body, idempotency_key)

    def transaction(self, transaction_id):
        """GET /v1/transactions/{id} (own only)."""
        return self._get(f"/v1/transactions/{self._segment(transaction_id)}")

    def member(self, ref):
        """GET /v1/members/{ref}: balance, available and points by expiry date."""
        return self._get(f"/v1/members/{self._segment(ref)}")

    def transactions(self, ref, limit=None, after=None):
        """GET /v1/members/{ref}/transactions: {"transactions", "next"} (own only, newest first)."""
        return self._get(f"/v1/members/{self._segment(ref)}/transactions", {"limit": limit, "after": after})

    def events(self, after=None, limit=None):
        """GET /v1/events: the partner's event feed after cursor `after`."""
        return self._get("/v1/events", {"after": after, "limit": limit})


class WebhookVerificationError(Exception):
    """A webhook delivery that is not proven to come from the ledger: do not act on it."""


def _public_key(ledger_public_key):
    """The ledger's Ed25519 public key from base64 (`ledgerctl pubkey`), `whpk_<base64>` or SPKI PEM."""
    if isinstance(ledger_public_key, Ed25519PublicKey):
        return ledger_public_key
    text = ledger_public_key.decode() if isinstance(ledger_public_key, bytes) else ledger_public_key
    if "BEGIN PUBLIC KEY" in text:
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    text = text.strip()
    raw = base64.b64decode(text[5:] if text.startswith("whpk_") else text, validate=True)
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_webhook(headers, body, ledger_public_key, tolerance_s=300, now=None):
    """Verifies a Standard Webhooks delivery (asymmetric `v1a`, Ed25519) and returns its parsed JSON.

    headers: any mapping of the request's headers (names in any case); body: the raw body bytes as
    received (never re-serialised JSON); ledger_public_key: see _public_key. The signed text is
    "<webhook-id>.<webhook-timestamp>.<body>"; `webhook-signature` is a space-separated list of
    "<version>,<base64>" of which one `v1a` must verify. A timestamp further than tolerance_s from
    now is refused (replay). Raises WebhookVerificationError. Dedupe on webhook-id: delivery is at
    least once."""
    fields = {str(name).lower(): value for name, value in dict(headers).items()}
    webhook_id = fields.get("webhook-id")
    timestamp = fields.get("webhook-timestamp")
    signatures = fields.get("webhook-signature")
    if not webhook_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 15:
        raise WebhookVerificationError("webhook-timestamp is not unix seconds")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp outside the tolerance")
    if isinstance(body, str):
        body = body.encode("utf-8")
    key = _public_key(ledger_public_key)
    signed = f"{webhook_id}.{timestamp}.".encode("utf-8") + bytes(body)
    for item in signatures.split(" "):
        version, _, value = item.partition(",")
        if version != "v1a":
            continue
        try:
            key.verify(base64.b64decode(value, validate=True), signed)
        except (InvalidSignature, ValueError):
            continue
        return json.loads(body)
    raise WebhookVerificationError("no v1a signature verifies with the ledger key")
