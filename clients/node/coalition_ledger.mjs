// coalition_ledger.mjs — reference client for the Coalition Ledger partner API (one file, copy it).
//
// Dependencies: none beyond Node 18+ built-ins (node:crypto, node:fs, global fetch). ES module.
//
//   import { LedgerClient, LedgerError, verifyWebhook } from './coalition_ledger.mjs';
//   const ledger = new LedgerClient('http://127.0.0.1:8080', 'coffee-1', '.local/keys/coffee.pem');
//   const answer = await ledger.earn('card-1001', 500, 'till-1');
//
// Every request is signed as SPEC section 9 says (RFC 9421, Ed25519, byte for byte the profile of
// `ledgerctl call`): covered components ("@method" "@path" "@query"), plus "content-digest"
// (RFC 9530) and "idempotency-key" on requests with a body; created, keyid, alg="ed25519".
//
// Retries: one Idempotency-Key per logical call (random unless given), reused on every attempt, so
// a retry can only replay the first answer. Retried: no answer (connection error, timeout), 503
// (after its Retry-After) and 409 request_in_progress (the same request still running). Never
// retried: any other 4xx or 5xx. Attempts and total time are bounded; the backoff is exponential
// with full jitter. A failure throws LedgerError carrying the RFC 9457 problem and the
// Idempotency-Key to retry with.
//
// verifyWebhook() checks a Standard Webhooks delivery signed by the ledger key (v1a, Ed25519).
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

// A refused or unanswered request. status: the HTTP status (0: no answer at all); code, field,
// detail: the problem's; problem: the whole RFC 9457 object; idempotencyKey: the key to retry with.
export class LedgerError extends Error {
  constructor(status, problem, idempotencyKey = null, retryAfterS = null) {
    super(`${status} ${problem.code}: ${problem.detail || problem.title || ''}`);
    this.name = 'LedgerError';
    this.status = status;
    this.problem = problem;
    this.code = problem.code;
    this.field = problem.field ?? null;
    this.detail = problem.detail ?? null;
    this.idempotencyKey = idempotencyKey;
    this.retryAfterS = retryAfterS;
  }
}

// RFC 8941 sf-string: quoted, with a backslash before `"` and `\`.
const sfString = (s) => '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
// One path segment as sent and signed (member refs and ids are already URL-safe).
const segment = (text) => encodeURIComponent(String(text)).replace(/%3A/gi, ':');

// Retry-After as seconds (delta-seconds or an HTTP date), or null.
function retryAfterS(value) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - Date.now()) / 1000);
}

// A partner's (or operator's) signed session with one ledger. url: "http://host:port"; keyId: the
// id the operator registered; keyFile: the PKCS#8 PEM `ledgerctl keygen` wrote (or its text, or a
// KeyObject). timeoutMs bounds each attempt, maxAttempts and maxTotalMs the retries of one call.
export class LedgerClient {
  constructor(url, keyId, keyFile, { timeoutMs = 15000, maxAttempts = 5, maxTotalMs = 60000, backoffMs = 200, backoffMaxMs = 5000 } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.keyId = keyId;
    const pem = typeof keyFile === 'string' && !keyFile.includes('-----BEGIN') ? readFileSync(keyFile) : keyFile;
    this.key = pem?.asymmetricKeyType ? pem : createPrivateKey(pem);
    if (this.key.asymmetricKeyType !== 'ed25519') throw new Error('the key is not an Ed25519 private key');
    Object.assign(this, { timeoutMs, maxAttempts, maxTotalMs, backoffMs, backoffMaxMs });
  }

  // The signature headers for method target ("/path?query") and the exact body bytes (a Buffer).
  sign(method, target, body = null, idempotencyKey = null, created = Math.floor(Date.now() / 1000)) {
    const q = target.indexOf('?');
    const components = [['@method', method], ['@path', q < 0 ? target : target.slice(0, q)], ['@query', q < 0 ? '?' : target.slice(q)]];
    const headers = {};
    if (body !== null) {
      const digest = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
      components.push(['content-digest', digest], ['idempotency-key', idempotencyKey]);
      Object.assign(headers, { 'Content-Digest': digest, 'Idempotency-Key': idempotencyKey, 'Content-Type': 'application/json' });
    }
    const params = `(${components.map(([n]) => `"${n}"`).join(' ')});created=${created};keyid=${sfString(this.keyId)};alg="ed25519"`;
    const base = components.map(([n, v]) => `"${n}": ${v}\n`).join('') + `"@signature-params": ${params}`;
    headers['Signature-Input'] = `sig1=${params}`;
    headers['Signature'] = `sig1=:${sign(null, Buffer.from(base, 'utf8'), this.key).toString('base64')}:`;
    return headers;
  }

  // One attempt: { response } with { status, headers, text, json }, or { error } when nothing came back.
  async send(method, target, body, idempotencyKey, accept, timeoutMs) {
    const headers = this.sign(method, target, body, idempotencyKey);
    if (accept) headers['Accept'] = accept;
    try {
      const answer = await fetch(this.url + target, {
        method, headers, body: body ?? undefined, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await answer.text();
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch { json = null; }
      return { response: { status: answer.status, headers: answer.headers, text, json } };
    } catch (error) { // refused, reset, timed out (the signal aborts the body read too)
      return { error };
    }
  }

  // Sends a signed request, retrying safely; resolves to the 2xx { status, headers, text, json } or
  // throws LedgerError. body: an object (sent as JSON), a string/Buffer, or null (no body: GET). A
  // request with a body carries idempotencyKey (random if null), the same on every attempt.
  async call(method, target, body = null, { idempotencyKey = null, accept = null } = {}) {
    if (body !== null) body = Buffer.from(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    if (body !== null && idempotencyKey === null) idempotencyKey = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.maxTotalMs;
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.max(1, Math.min(this.timeoutMs, deadline - Date.now()));
      const { response, error } = await this.send(method, target, body, idempotencyKey, accept, timeoutMs);
      if (response && response.status >= 200 && response.status < 300) return response;
      let status = 0, problem, wait = null;
      if (!response) {
        problem = { code: 'no_answer', title: 'No answer', detail: String(error?.cause?.message || error?.message || error) };
      } else {
        status = response.status;
        problem = response.json && typeof response.json === 'object' && !Array.isArray(response.json) ? response.json
          : { code: `http_${status}`, title: 'Unexpected answer', detail: response.text.slice(0, 200) };
        wait = retryAfterS(response.headers.get('retry-after'));
      }
      const retryable = status === 0 || status === 503 || (status === 409 && problem.code === 'request_in_progress');
      // full jitter on an exponential bound; Retry-After is a floor
      const delayMs = Math.max(Math.random() * Math.min(this.backoffMaxMs, this.backoffMs * 2 ** (attempt - 1)), (wait ?? 0) * 1000);
      if (!retryable || attempt >= this.maxAttempts || Date.now() + delayMs > deadline) {
        throw new LedgerError(status, problem, idempotencyKey, wait);
      }
      await sleep(delayMs);
    }
  }

  async post(target, body, idempotencyKey = null) { return (await this.call('POST', target, body, { idempotencyKey })).json; }
  async get(target, query = {}) {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined));
    const text = params.toString();
    return (await this.call('GET', text ? `${target}?${text}` : target)).json;
  }

  // POST /v1/earn: { transaction, balance }.
  earn(member, points, reference, idempotencyKey) { return this.post('/v1/earn', { member, points, reference }, idempotencyKey); }
  // POST /v1/burn: { transaction (with consumed), balance }; 422 insufficient_points.
  burn(member, points, reference, idempotencyKey) { return this.post('/v1/burn', { member, points, reference }, idempotencyKey); }
  // POST /v1/holds: { hold, balance }.
  hold(member, points, reference, { ttlSeconds, idempotencyKey } = {}) {
    const body = { member, points, reference };
    if (ttlSeconds !== undefined) body.ttl_seconds = ttlSeconds;
    return this.post('/v1/holds', body, idempotencyKey);
  }
  // POST /v1/holds/{id}/capture (all of the hold, or points of it): a burn transaction.
  capture(holdId, { points, idempotencyKey } = {}) {
    return this.post(`/v1/holds/${segment(holdId)}/capture`, points === undefined ? {} : { points }, idempotencyKey);
  }
  // POST /v1/holds/{id}/void: releases the hold.
  void(holdId, { idempotencyKey } = {}) { return this.post(`/v1/holds/${segment(holdId)}/void`, {}, idempotencyKey); }
  // POST /v1/transactions/{id}/reverse (all that is reversible, or points).
  reverse(transactionId, reference, { points, idempotencyKey } = {}) {
    const body = points === undefined ? { reference } : { points, reference };
    return this.post(`/v1/transactions/${segment(transactionId)}/reverse`, body, idempotencyKey);
  }
  // GET /v1/transactions/{id} (own only).
  transaction(transactionId) { return this.get(`/v1/transactions/${segment(transactionId)}`); }
  // GET /v1/members/{ref}: balance, available and points by expiry date.
  member(ref) { return this.get(`/v1/members/${segment(ref)}`); }
  // GET /v1/members/{ref}/transactions: { transactions, next } (own only, newest first).
  transactions(ref, { limit, after } = {}) { return this.get(`/v1/members/${segment(ref)}/transactions`, { limit, after }); }
  // GET /v1/events: the partner's event feed after cursor after.
  events({ after, limit } = {}) { return this.get('/v1/events', { after, limit }); }
}

export class WebhookVerificationError extends Error {
  constructor(message) { super(message); this.name = 'WebhookVerificationError'; }
}

// The ledger's Ed25519 public key from base64 (`ledgerctl pubkey`), `whpk_<base64>`, SPKI PEM or a KeyObject.
function publicKey(key) {
  if (key?.asymmetricKeyType) return key;
  const text = String(key).trim();
  if (text.includes('BEGIN PUBLIC KEY')) return createPublicKey(text);
  const raw = Buffer.from(text.startsWith('whpk_') ? text.slice(5) : text, 'base64');
  if (raw.length !== 32) throw new Error('the ledger public key is not 32 bytes of base64');
  // SPKI DER of an Ed25519 key: a fixed 12-byte prefix (RFC 8410) and the raw key
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
}

// Verifies a Standard Webhooks delivery (asymmetric v1a, Ed25519) and returns its parsed JSON.
// headers: a Headers object or a plain object (names in any case, e.g. node's req.headers); body:
// the raw body as received (Buffer or string, never re-serialised JSON); ledgerPublicKey: see
// publicKey. The signed text is "<webhook-id>.<webhook-timestamp>.<body>"; webhook-signature is a
// space-separated list of "<version>,<base64>" of which one v1a must verify. A timestamp further
// than toleranceS from now is refused (replay). Throws WebhookVerificationError. Dedupe on
// webhook-id: delivery is at least once.
export function verifyWebhook(headers, body, ledgerPublicKey, { toleranceS = 300, now = Date.now() / 1000 } = {}) {
  const entries = typeof headers.entries === 'function' ? [...headers.entries()] : Object.entries(headers);
  const fields = Object.fromEntries(entries.map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : String(v)]));
  const id = fields['webhook-id'], timestamp = fields['webhook-timestamp'], signatures = fields['webhook-signature'];
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^[0-9]{1,15}$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not unix seconds');
  if (Math.abs(now - Number(timestamp)) > toleranceS) throw new WebhookVerificationError('webhook-timestamp outside the tolerance');
  const key = publicKey(ledgerPublicKey);
  const bytes = Buffer.from(body);
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), bytes]);
  for (const item of signatures.split(' ')) {
    const comma = item.indexOf(',');
    if (comma < 0 || item.slice(0, comma) !== 'v1a') continue;
    const value = item.slice(comma + 1);
    if (!/^[A-Za-z0-9+/]{86}==$/.test(value)) continue; // 64 bytes, canonical base64
    if (verify(null, signed, key, Buffer.from(value, 'base64'))) return JSON.parse(bytes.toString('utf8'));
  }
  throw new WebhookVerificationError('no v1a signature verifies with the ledger key');
}
