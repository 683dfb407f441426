// sign.js — the signed session (SPEC section 9). The user's PKCS#8 PEM key file is imported as a
// NON-extractable WebCrypto Ed25519 key: no script, this one included, can read it back, and it
// lives only in this tab's memory (never localStorage, never sent). Every request carries an
// RFC 9421 signature over ("@method" "@path" "@query"), plus "content-digest" (RFC 9530) and
// "idempotency-key" when it has a body, exactly as ledgerctl signs.
import { ProblemError, b64decode, b64encode, sha256, utf8 } from './util.js';

export class KeyFileError extends Error {}

// The key file's text -> a CryptoKey usable only to sign. Throws KeyFileError with a plain reason.
export async function importKeyFile(text) {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(text || '');
  if (!match) {
    if (/BEGIN PUBLIC KEY/.test(text || '')) throw new KeyFileError('This is a public key file. Choose your private key file (the one ledgerctl keygen wrote, "-----BEGIN PRIVATE KEY-----").');
    throw new KeyFileError('This file is not a PKCS#8 PEM private key. Choose the file ledgerctl keygen wrote (it starts with "-----BEGIN PRIVATE KEY-----").');
  }
  let der;
  try { der = b64decode(match[1]); } catch { throw new KeyFileError('The key file is damaged: its base64 does not decode.'); }
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  } catch {
    throw new KeyFileError('The key file is not an Ed25519 private key (the ledger signs with Ed25519 keys only).');
  }
}

// RFC 8941 sf-string.
const sfString = (s) => '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';

function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export class Session {
  constructor(keyid, key) { this.keyid = keyid; this.key = key; this.role = null; this.partner = null; }

  // The headers that sign method + target (+ body). Exported for the tests of the signature base.
  async signHeaders(method, target, body) {
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '?' : target.slice(q);
    const components = [['@method', method], ['@path', path], ['@query', query]];
    const headers = {};
    if (body !== undefined) {
      const digest = `sha-256=:${b64encode(await sha256(utf8(body)))}:`;
      const idempotency = randomHex(16);
      components.push(['content-digest', digest], ['idempotency-key', idempotency]);
      headers['Content-Digest'] = digest;
      headers['Idempotency-Key'] = idempotency;
      headers['Content-Type'] = 'application/json';
    }
    const created = Math.floor(Date.now() / 1000);
    const params = `(${components.map(([n]) => `"${n}"`).join(' ')});created=${created};keyid=${sfString(this.keyid)};alg="ed25519"`;
    const base = components.map(([n, v]) => `"${n}": ${v}\n`).join('') + `"@signature-params": ${params}`;
    const signature = await crypto.subtle.sign({ name: 'Ed25519' }, this.key, utf8(base));
    headers['Signature-Input'] = `sig1=${params}`;
    headers['Signature'] = `sig1=:${b64encode(signature)}:`;
    return headers;
  }

  // A signed request; resolves to { status, type, text, json } or throws ProblemError.
  async request(method, target, { body, accept } = {}) {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = await this.signHeaders(method, target, text);
    if (accept) headers['Accept'] = accept;
    let response;
    try {
      response = await fetch(target, { method, headers, body: text, credentials: 'omit', cache: 'no-store', redirect: 'error' });
    } catch (e) {
      throw new ProblemError(0, { code: 'network', title: 'The ledger did not answer', detail: String(e.message || e) });
    }
    const type = response.headers.get('Content-Type') || '';
    const answer = { status: response.status, type, text: await response.text(), json: null };
    if (type.startsWith('application/json') || type.startsWith('application/problem+json')) {
      try { answer.json = JSON.parse(answer.text); } catch { answer.json = null; }
    }
    if (response.status >= 400) {
      throw new ProblemError(response.status, answer.json || { code: 'http_' + response.status, title: response.statusText, detail: answer.text.slice(0, 200) });
    }
    return answer;
  }
  async get(target, opts) { return (await this.request('GET', target, opts)).json; }
  async post(target, body) { return (await this.request('POST', target, { body })).json; }
}

// What a failed sign-in means, for a person.
export function signInMessage(error, keyid) {
  const code = error instanceof ProblemError ? error.problem.code : null;
  switch (code) {
    case 'unknown_key': return `The ledger has no key "${keyid}". Check the key id you typed (it is the id the operator registered, e.g. "operator-1" or "coffee-1").`;
    case 'key_revoked': return `The key "${keyid}" has been revoked: it can no longer sign in. Ask the operator for a new key.`;
    case 'signature_invalid': return `The key file does not belong to key id "${keyid}": the ledger could not verify its signature. Choose the key file of that key, or type the key id of this file.`;
    case 'signature_expired': return 'This computer\'s clock is too far from the ledger\'s: fix the clock and sign in again.';
    default: return `Sign-in failed: ${error.message || error}`;
  }
}
