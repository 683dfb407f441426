// widgets.js — pieces several pages share: the ledger-key pin panel, a signed report's
// verification line and downloads, pagination of list endpoints.
import { h, download, problemBox, status } from './util.js';
import { pinnedLedgerKey, pinLedgerKey, unpinLedgerKey, verifyReport } from './verify.js';

// The ledger key this browser checks signatures with: pasted once, kept in localStorage.
export function ledgerKeyPanel(onChange) {
  const pinned = pinnedLedgerKey();
  const input = h('input', { type: 'text', id: 'ledger-key', size: 52, spellcheck: 'false', placeholder: 'base64 of the ledger\'s Ed25519 public key', value: pinned });
  const message = h('span', { class: 'hint' });
  const pin = h('button', { type: 'button', id: 'pin-ledger-key', onclick: () => {
    try { pinLedgerKey(input.value); onChange(); } catch (e) { message.replaceChildren(problemBox(e)); }
  } }, pinned ? 'Replace pinned key' : 'Pin ledger key');
  const unpin = h('button', { type: 'button', onclick: () => { unpinLedgerKey(); onChange(); } }, 'Unpin');
  return h('details', { class: 'card ledger-key', open: pinned ? null : true },
    h('summary', {}, pinned ? `Ledger key pinned: ${pinned.slice(0, 12)}…` : 'No ledger key pinned: signatures cannot be checked'),
    h('p', { class: 'hint' }, 'Signatures are checked in this page against the ledger key you pin here (get it from your operator, out of band: ',
      h('code', {}, 'ledgerctl pubkey --key-file ledger.pem'), '). It is public, and kept in this browser.'),
    h('div', { class: 'row' }, input, pin, pinned ? unpin : null), message);
}

// A signed report answer { <kind>: report, signature }: the verification verdict (loud when it
// fails), the signed JSON exactly as received, and the API's CSV when it has one.
export async function signedReportBlock(answer, kind, { name, csv }) {
  const verdict = await verifyReport(answer.json[kind], answer.json.signature);
  const out = h('div', { class: 'signed' },
    h('div', { id: 'signature-status', 'data-ok': String(verdict.ok) }, status(verdict.ok, verdict.reason)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', 'data-download': 'signed', onclick: () => download(`${name}.json`, answer.text, 'application/json') }, 'Download signed report (JSON)'),
      csv ? h('button', { type: 'button', class: 'csv', 'data-csv': `${name}-report`, onclick: async () => {
        try { download(`${name}.csv`, await csv(), 'text/csv'); } catch (e) { out.append(problemBox(e, 'CSV download')); }
      } }, 'Download report CSV') : null));
  return out;
}

// Pages through a list endpoint with ?limit=&after=: the hash keeps the page's other parameters
// (limit, member) and sets or drops `after`.
export function pager(next, params, page) {
  const go = (after) => {
    const kept = new URLSearchParams(params);
    kept.delete('after');
    if (after) kept.set('after', after);
    location.hash = `${page}${kept.toString() ? '?' + kept : ''}`;
  };
  return h('div', { class: 'pager' },
    h('button', { type: 'button', id: 'first-page', onclick: () => go(null) }, 'First page'),
    next ? h('button', { type: 'button', id: 'next-page', onclick: () => go(next) }, 'Next page →') : h('span', { class: 'hint' }, 'last page'));
}
