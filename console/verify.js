// verify.js — what the page checks itself, with WebCrypto, against the ledger key the user pinned:
// a report's signature (Ed25519 over the RFC 8785 JCS text of the report object), a checkpoint's
// C2SP signed note, and an RFC 9162 section 2.1.4.2 consistency proof between two tree sizes.
import { b64decode, sha256, utf8 } from './util.js';

const PIN = 'coalition-ledger.ledger-key';
const SEEN = 'coalition-ledger.checkpoint-seen';

// The ledger's public key (base64 of the raw 32 bytes, as `ledgerctl pubkey` prints it), pinned
// once in this browser. Public: localStorage is fine for it (never for the user's private key).
export function pinnedLedgerKey() { return localStorage.getItem(PIN) || ''; }
export function pinLedgerKey(text) {
  const key = (text || '').trim();
  let raw;
  try { raw = b64decode(key); } catch { raw = null; }
  if (!raw || raw.length !== 32) throw new Error('A ledger key is the base64 of 32 bytes (ledgerctl pubkey --key-file ledger.pem prints it).');
  localStorage.setItem(PIN, key);
  return key;
}
export function unpinLedgerKey() { localStorage.removeItem(PIN); }

export function lastSeenCheckpoint() {
  try { return JSON.parse(localStorage.getItem(SEEN) || 'null'); } catch { return null; }
}
export function rememberCheckpoint(cp) { localStorage.setItem(SEEN, JSON.stringify({ size: cp.size, root: cp.root, origin: cp.origin })); }
export function forgetCheckpoint() { localStorage.removeItem(SEEN); }

async function importPublic(b64) {
  return crypto.subtle.importKey('raw', b64decode(b64), { name: 'Ed25519' }, false, ['verify']);
}

// RFC 8785: sorted keys (UTF-16 order), no whitespace, JSON.stringify's string escaping, integers.
export function jcs(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('a report holds integers only');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map(jcs).join(',') + ']';
  return '{' + Object.keys(value).sort().map((k) => JSON.stringify(k) + ':' + jcs(value[k])).join(',') + '}';
}

// { ok, reason }: the signature next to report, by the pinned ledger key.
export async function verifyReport(report, signature) {
  const pinned = pinnedLedgerKey();
  if (!pinned) return { ok: false, reason: 'No ledger key pinned: paste the ledger key to check signatures.' };
  try {
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, await importPublic(pinned), b64decode(signature), utf8(jcs(report)));
    return ok ? { ok, reason: 'Signature verified: signed by the pinned ledger key.' }
      : { ok, reason: 'SIGNATURE MISMATCH: this report was NOT signed by the pinned ledger key (altered, or another ledger).' };
  } catch (e) {
    return { ok: false, reason: `SIGNATURE MISMATCH: the signature cannot be checked (${e.message}).` };
  }
}

// A checkpoint note "<origin>\n<size>\n<root b64>\n\n— <origin> <b64(keyhash||sig)>\n": parsed,
// and its signature by the pinned key under the origin's name checked (key hash as C2SP says).
export async function openCheckpoint(text) {
  const split = text.lastIndexOf('\n\n');
  if (split < 0) throw new Error('not a signed note');
  const body = text.slice(0, split + 1);
  const [origin, sizeText, root] = body.split('\n');
  const cp = { origin, size: Number(sizeText), root, text, ok: false, reason: '' };
  const pinned = pinnedLedgerKey();
  if (!pinned) { cp.reason = 'No ledger key pinned: the note\'s signature is not checked.'; return cp; }
  const pub = b64decode(pinned);
  const material = new Uint8Array([...utf8(origin + '\n'), 1, ...pub]);
  const want = (await sha256(material)).slice(0, 4);
  const key = await importPublic(pinned);
  for (const line of text.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== origin) continue;
    const blob = b64decode(m[2]);
    if (blob.length !== 68 || !blob.slice(0, 4).every((b, i) => b === want[i])) continue;
    if (await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), utf8(body))) {
      cp.ok = true;
      cp.reason = 'Checkpoint signature verified: signed by the pinned ledger key.';
      return cp;
    }
  }
  cp.reason = 'CHECKPOINT SIGNATURE MISMATCH: the note is not signed by the pinned ledger key.';
  return cp;
}

async function node(left, right) {
  const material = new Uint8Array(1 + left.length + right.length);
  material[0] = 1;
  material.set(left, 1);
  material.set(right, 1 + left.length);
  return sha256(material);
}
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 9162 2.1.4.2: does proof (hashes, base64) show that the tree of size first with root
// firstRoot is a prefix of the tree of size second with root secondRoot? Sizes as numbers.
export async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  const r1 = b64decode(firstRoot), r2 = b64decode(secondRoot);
  let path = proof.map(b64decode);
  if (first < 1 || first > second) return false;
  if (first === second) return path.length === 0 && same(r1, r2);
  let power = 1;
  while (power < first) power *= 2;
  if (power === first) path = [r1, ...path];
  if (path.length === 0) return false;
  let fn = first - 1, sn = second - 1;
  const odd = (n) => n % 2 === 1, half = (n) => Math.floor(n / 2);
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await node(c, fr);
      sr = await node(c, sr);
      while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = await node(sr, c);
    }
    fn = half(fn); sn = half(sn);
  }
  return same(fr, r1) && same(sr, r2) && sn === 0;
}
