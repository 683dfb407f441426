// util.js — DOM building without innerHTML (every value from the ledger is text, never markup),
// number and time formatting, RFC 4180 CSV, downloads, base64 and problem display.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const fmtInt = (n) => (typeof n === 'number' ? grouping.format(n) : String(n ?? ''));
export function fmtTime(s) {
  if (s === null || s === undefined || s === '') return '';
  if (typeof s === 'string') return s;
  return new Date(s * 1000).toISOString().replace('.000Z', 'Z');
}
export const fmtDate = (s) => fmtTime(s).slice(0, 10);

// A problem (RFC 9457) or any failure, shown plainly: status, code, title, detail.
export class ProblemError extends Error {
  constructor(status, problem) {
    super(`${status} ${problem.code || ''}: ${problem.title || ''}${problem.detail ? ' — ' + problem.detail : ''}`);
    this.status = status;
    this.problem = problem;
  }
}
export function problemBox(error, what) {
  const p = error instanceof ProblemError ? error.problem : null;
  return h('div', { class: 'problem', role: 'alert' },
    h('strong', {}, what ? `${what}: ` : '', p ? `${error.status} ${p.title || ''}` : 'Error'),
    p ? h('div', {}, 'code ', h('code', { class: 'problem-code' }, p.code || '?'), p.detail ? ` — ${p.detail}` : '') :
      h('div', {}, String(error && error.message ? error.message : error)));
}

// RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends.
export function csvText(columns, rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// A table of rows (objects) by columns [{key, label, num?, render?}], with a CSV download: csv()
// gives the text (the API's own CSV where it has one, else the rows' fields as the API named them).
export function table(columns, rows, { name, csv, caption, empty } = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : '' }, c.label || c.key)));
  const body = rows.map((r) => h('tr', {}, columns.map((c) => {
    const v = r[c.key];
    const shown = c.render ? c.render(v, r) : c.num ? fmtInt(v) : c.time ? fmtTime(v) : v;
    return h('td', { class: c.num ? 'num' : '', 'data-key': c.key, 'data-value': typeof v === 'object' ? null : v }, shown);
  })));
  const tbl = h('table', { class: 'data', 'data-table': name },
    caption ? h('caption', {}, caption) : null, h('thead', {}, head),
    h('tbody', {}, body.length ? body : h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty || 'nothing yet'))));
  const button = h('button', { type: 'button', class: 'csv', 'data-csv': name, onclick: async () => {
    try {
      const text = csv ? await csv() : csvText(columns.map((c) => c.key), rows);
      download(`${name}.csv`, text, 'text/csv');
    } catch (e) { button.after(problemBox(e, 'CSV download')); }
  } }, 'Download CSV');
  return h('div', { class: 'table-wrap' }, tbl, h('div', { class: 'actions' }, button));
}

export function b64decode(text) {
  const bin = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
export function b64encode(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}
export const utf8 = (s) => new TextEncoder().encode(s);
export async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }

export function heading(title, ...rest) { return h('div', { class: 'page-head' }, h('h2', {}, title), ...rest); }
export function status(ok, text) { return h('div', { class: ok ? 'verified' : 'mismatch', role: ok ? 'status' : 'alert' }, text); }
