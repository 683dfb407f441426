// console.test.mjs — the finance and audit console in a real browser (issue 19): Debian's
// chromium, headless, driven by playwright-core (pinned in package-lock.json), against a real
// ledgerd + PostgreSQL (fixture.mjs). Each role signs in with its key file, every page opens,
// the numbers shown are the API's, a settlement is run, the auditor is refused, CSVs equal the
// API's, signatures and a consistency proof are verified in the page, bad sign-ins say why, and
// every page is saved as a screenshot under test-output/console/. Loopback only; < 2 minutes.
// Run by tools/test.sh: node --test --test-reporter=tap tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { chromium } from 'playwright-core';
import { startLedger } from './fixture.mjs';

const root = resolve(new URL('../..', import.meta.url).pathname);
const shots = join(root, 'test-output', 'console');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
setTimeout(() => { console.error('browser tests: over 240 s, stopped'); process.exit(1); }, 240000).unref();

let ledger, browser;
const foreign = []; // requests the page sent anywhere but the ledger

before(async () => {
  mkdirSync(shots, { recursive: true });
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: tools/deps.sh --test installs Debian's chromium`);
  ledger = await startLedger('browser_console');
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: 20000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (ledger) await ledger.stop();
});

// A fresh browser profile (own localStorage) with the ledger key pinned unless pin === false.
async function open({ pin = true } = {}) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(e.message));
  page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) page.problems.push(m.text()); });
  page.on('request', (r) => { if (!r.url().startsWith(ledger.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url()); });
  await page.goto(`${ledger.url}/console/`);
  if (pin) await page.evaluate((k) => localStorage.setItem('coalition-ledger.ledger-key', k), ledger.ledgerKey.pub);
  return page;
}

async function signIn(page, key, keyid = key.id) {
  await page.setInputFiles('#key-file', key.file);
  await page.fill('#key-id', keyid);
  await page.click('#signin-button');
}

async function openAs(role) {
  const page = await open();
  await signIn(page, ledger.keys[role]);
  await page.waitForSelector('#nav:not([hidden])');
  await ready(page);
  return page;
}

// Opens #hash and waits for the page to finish drawing; fails on a problem box unless expected.
async function visit(page, hash, { problem = false } = {}) {
  await page.evaluate((h) => { // the page on screen is stale from now: wait for the new one
    const shown = document.querySelector('.page');
    if (shown) shown.removeAttribute('data-ready');
    if (location.hash === '#' + h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = h;
  }, hash);
  await ready(page, hash.split('?')[0]);
  if (!problem) {
    const shown = await page.locator('.page .problem').allTextContents();
    assert.deepEqual(shown, [], `#${hash} showed a problem`);
  }
}
async function ready(page, name) {
  await page.waitForSelector(name ? `.page[data-page="${name}"][data-ready=true]` : '.page[data-ready=true]');
}
async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

// The rows of table data-table=name: [{key: data-value}] (the raw API values the cells show).
async function rows(page, name) {
  return page.$$eval(`table[data-table="${name}"] tbody tr`, (trs) => trs.map((tr) =>
    Object.fromEntries([...tr.querySelectorAll('td[data-key]')].map((td) => [td.dataset.key, td.dataset.value ?? td.textContent]))));
}
// The shown text agrees with the value: digits and sign of the formatted number.
async function shownNumbersMatch(page, name) {
  const cells = await page.$$eval(`table[data-table="${name}"] td.num[data-value]`, (tds) => tds.map((td) => [td.dataset.value, td.textContent]));
  for (const [value, text] of cells) assert.equal(text.replace(/[,\s]/g, '').replace('−', '-'), value, `${name}: ${text} shown for ${value}`);
  return cells.length;
}
async function downloadText(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return readFileSync(await dl.path(), 'utf8');
}
function parseCsv(text) {
  return text.trim().split(/\r?\n/).map((line) => line.split(','));
}
const op = () => ledger.keys.operator;

test('ledgerd serves the console with a strict CSP, nosniff, no cookie', async () => {
  const response = await fetch(`${ledger.url}/console/`);
  assert.equal(response.status, 200);
  const csp = response.headers.get('content-security-policy');
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('set-cookie'), null);
  // sent as written (fetch would normalise the dots away): encoded traversal is refused
  const traversal = await new Promise((ok, fail) => {
    http.get({ host: '127.0.0.1', port: new URL(ledger.url).port, path: '/console/%2e%2e/%2e%2e/README.md' }, (r) => { r.resume(); ok(r.statusCode); }).on('error', fail);
  });
  assert.equal(traversal, 400);
  const page = await open({ pin: false });
  await shot(page, '00-sign-in');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('bad sign-ins say why: wrong file, public key, unknown key id, revoked key, key of another id', async () => {
  const page = await open();
  const notPem = join(ledger.dir, 'notes.txt');
  writeFileSync(notPem, 'this is not a key\n');
  const publicPem = join(ledger.dir, 'public.pem'), ecPem = join(ledger.dir, 'p256.pem');
  writeFileSync(publicPem, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(ecPem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const cases = [
    [{ file: notPem, id: 'operator-1' }, 'operator-1', /not a PKCS#8 PEM private key/, 'wrong-file'],
    [{ file: publicPem }, 'operator-1', /This is a public key file/, 'public-key-file'],
    [{ file: ecPem }, 'operator-1', /not an Ed25519 private key/, 'not-ed25519'],
    [ledger.keys.stranger, 'stranger-1', /has no key "stranger-1"/, 'unknown-keyid'],
    [ledger.keys['auditor-2'], 'auditor-2', /has been revoked/, 'revoked-key'],
    [ledger.keys.coffee, 'books-1', /does not belong to key id "books-1"/, 'key-of-another-id'],
  ];
  for (const [key, keyid, message, name] of cases) {
    await signIn(page, key, keyid);
    const box = page.locator('#signin-message');
    await box.waitFor({ state: 'visible' });
    await page.waitForFunction(() => !document.getElementById('signin-button').disabled);
    assert.match(await box.textContent(), message);
    assert.ok(await page.locator('#nav').isHidden(), 'no page behind a failed sign-in');
    await shot(page, `01-sign-in-${name}`);
  }
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('operator: overview shows the API\'s liability and checkpoint; the key is kept nowhere', async () => {
  const page = await openAs('operator');
  await visit(page, 'overview');
  const api = ledger.call(op(), 'GET', '/v1/admin/liability');
  const shown = await rows(page, 'liability');
  assert.equal(shown.length, api.issuers.length);
  api.issuers.forEach((row, i) => {
    for (const k of ['issuer', 'outstanding', 'liability', 'expiring_30d', 'expiring_60d', 'expiring_90d']) assert.equal(String(row[k]), shown[i][k], `${row.issuer}.${k}`);
  });
  assert.ok(await shownNumbersMatch(page, 'liability') > 0);
  const note = ledger.call(op(), 'GET', '/v1/admin/checkpoint', undefined, 'text/plain');
  assert.equal(await page.textContent('#checkpoint [data-key=size]'), note.split('\n')[1]);
  assert.match(await page.textContent('#checkpoint'), /Checkpoint signature verified/);
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(stored, /PRIVATE|BEGIN/);
  await shot(page, '10-operator-overview');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('operator: runs a settlement, sees it in the list, its report verified, CSVs equal the API\'s', async () => {
  ledger.call(ledger.keys.books, 'POST', '/v1/burn', { member: 'm-7', points: 400, reference: 'browser-burn' });
  await new Promise((ok) => setTimeout(ok, 1100));
  const page = await openAs('operator');
  await visit(page, 'settlements');
  const before = ledger.call(op(), 'GET', '/v1/admin/settlements?limit=20');
  await page.fill('#fee-bp', '100');
  await page.click('#run-settlement-button');
  await page.waitForSelector('.page[data-ready=true] #signature-status');
  const after = ledger.call(op(), 'GET', '/v1/admin/settlements?limit=20');
  assert.equal(after.settlements.length, before.settlements.length + 1);
  const made = after.settlements[0];
  assert.equal(made.fee_bp, 100);
  assert.match(await page.locator('.page h2').textContent(), new RegExp(made.id));
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'true');
  const report = ledger.call(op(), 'GET', `/v1/admin/settlements/${made.id}`).settlement;
  const positions = await rows(page, `${made.id}-positions`);
  assert.deepEqual(positions.map((r) => [r.partner, Number(r.net), Number(r.fees), r.role]), report.positions.map((p) => [p.partner, p.net, p.fees, p.role]));
  assert.deepEqual((await rows(page, `${made.id}-payments`)).map((r) => [r.from, r.to, Number(r.amount)]), report.payments.map((p) => [p.from, p.to, p.amount]));
  await shownNumbersMatch(page, `${made.id}-pairs`);
  await shot(page, '11-operator-settlement-detail');
  const csv = await downloadText(page, `[data-csv="${made.id}-report"]`);
  assert.equal(csv, ledger.call(op(), 'GET', `/v1/admin/settlements/${made.id}`, undefined, 'text/csv'));
  const signed = JSON.parse(await downloadText(page, '[data-download=signed]'));
  assert.equal(signed.signature, ledger.call(op(), 'GET', `/v1/admin/settlements/${made.id}`).signature);
  await visit(page, 'settlements');
  const list = await rows(page, 'settlements');
  assert.deepEqual(list.map((r) => r.id), after.settlements.map((s) => s.id));
  const listCsv = parseCsv(await downloadText(page, '[data-csv=settlements]'));
  assert.deepEqual(listCsv[0], ['id', 'period_end', 'from_seq', 'cutoff_seq', 'currency', 'fee_bp']);
  assert.deepEqual(listCsv.slice(1), after.settlements.map((s) => listCsv[0].map((k) => String(s[k]))));
  await shot(page, '12-operator-settlements');
  // pagination: two per page, Next follows the API's cursor to the end
  await visit(page, 'settlements?limit=2');
  const first = ledger.call(op(), 'GET', '/v1/admin/settlements?limit=2');
  assert.deepEqual((await rows(page, 'settlements')).map((r) => r.id), first.settlements.map((s) => s.id));
  const second = ledger.call(op(), 'GET', `/v1/admin/settlements?limit=2&after=${first.next}`);
  await page.click('#next-page');
  await page.waitForSelector(`.page[data-ready=true] table[data-table=settlements] td[data-value="${second.settlements[0].id}"]`);
  assert.match(await page.evaluate(() => location.hash), new RegExp(`limit=2&after=${first.next}`));
  assert.deepEqual((await rows(page, 'settlements')).map((r) => r.id), second.settlements.map((s) => s.id));
  assert.equal(await page.locator('#next-page').count(), second.next ? 1 : 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a report signed by another key is shown as a mismatch, loudly', async () => {
  const page = await openAs('operator');
  await page.evaluate((k) => localStorage.setItem('coalition-ledger.ledger-key', k), ledger.keys.operator.pub);
  await visit(page, 'settlements?id=stl-1');
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'false');
  assert.match(await page.locator('#signature-status .mismatch').textContent(), /SIGNATURE MISMATCH/);
  await shot(page, '13-signature-mismatch');
  await page.context().close();
});

test('positions over time: a line per brand, the API\'s nets', async () => {
  const page = await openAs('operator');
  await visit(page, 'positions');
  const api = ledger.call(op(), 'GET', '/v1/admin/settlements?limit=200').settlements.reverse();
  const brands = [...new Set(api.flatMap((s) => s.positions.map((p) => p.partner)))].sort();
  assert.equal(await page.locator('#positions-chart polyline').count(), brands.length);
  assert.equal(await page.locator('#positions-chart .legend text').count(), brands.length);
  const shown = await rows(page, 'positions');
  assert.deepEqual(shown.map((r) => r.id), api.map((s) => s.id));
  api.forEach((s, i) => { for (const p of s.positions) assert.equal(shown[i][p.partner], String(p.net)); });
  await shot(page, '14-operator-positions');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('expiry: runs list, a run\'s signed report, the 26-week forecast chart', async () => {
  const page = await openAs('operator');
  await visit(page, 'expiry');
  const runs = ledger.call(op(), 'GET', '/v1/admin/expiry-runs').runs;
  assert.deepEqual((await rows(page, 'expiry-runs')).map((r) => [r.id, Number(r.points), Number(r.lots)]), runs.map((r) => [r.id, r.points, r.lots]));
  const forecast = ledger.call(op(), 'GET', '/v1/admin/expiry-forecast?weeks=26');
  const shown = await rows(page, 'expiry-forecast');
  assert.equal(shown.length, 26);
  const total = (w) => w.issuers.reduce((s, i) => s + i.points, 0);
  forecast.weeks.forEach((w, i) => {
    const sum = Object.entries(shown[i]).filter(([k]) => k !== 'start' && k !== 'end').reduce((s, [, v]) => s + Number(v), 0);
    assert.equal(sum, total(w), `week ${i}`);
  });
  assert.ok(await page.locator('#forecast-chart rect[fill]').count() > 2);
  await shot(page, '15-operator-expiry');
  await visit(page, `expiry?id=${runs[0].id}`);
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'true');
  const csv = await downloadText(page, `[data-csv="${runs[0].id}-report"]`);
  assert.equal(csv, ledger.call(op(), 'GET', `/v1/admin/expiry-runs/${runs[0].id}`, undefined, 'text/csv'));
  await shot(page, '16-operator-expiry-run');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('liability and breakage: the API\'s report, verified, its CSV', async () => {
  const page = await openAs('auditor-1');
  await visit(page, 'liability');
  await page.selectOption('#issuer', 'coffee');
  await page.click('#report-button');
  await page.waitForSelector('.page[data-ready=true] #signature-status');
  const chosen = new URLSearchParams((await page.evaluate(() => location.hash)).split('?')[1]);
  const from = Number(chosen.get('from')), to = Number(chosen.get('to'));
  assert.equal(chosen.get('issuer'), 'coffee');
  assert.ok(to < Date.now() / 1000 && from < to);
  const api = ledger.call(op(), 'GET', `/v1/admin/liability-report?issuer=coffee&from=${from}&to=${to}`).report;
  const lines = Object.fromEntries((await rows(page, 'liability-lines')).map((r) => [r.line, r]));
  for (const l of ['opening', 'issued', 'redeemed', 'expired', 'closing']) {
    assert.equal(lines[l].points, String(api.points[l]), `points.${l}`);
    assert.equal(lines[l].money, String(api.money[l]), `money.${l}`);
  }
  const revenue = (await rows(page, 'liability-revenue')).map((r) => Number(r.value));
  assert.ok(revenue.includes(api.revenue.period) && revenue.includes(api.deferred_revenue));
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'true');
  const csv = await downloadText(page, '[data-csv^="liability-coffee"]');
  assert.equal(csv, ledger.call(op(), 'GET', `/v1/admin/liability-report?issuer=coffee&from=${from}&to=${to}`, undefined, 'text/csv'));
  await shot(page, '20-auditor-liability');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('audit: checkpoint note verified, consistency proof from the last seen checkpoint verified, export', async () => {
  const page = await openAs('auditor-1');
  await visit(page, 'audit');
  assert.match(await page.textContent('#checkpoint-status'), /Checkpoint signature verified/);
  const seen = await page.evaluate(() => JSON.parse(localStorage.getItem('coalition-ledger.checkpoint-seen')));
  assert.ok(seen.size > 1);
  for (let i = 0; i < 3; i++) ledger.call(ledger.keys.coffee, 'POST', '/v1/earn', { member: 'audit-m', points: 10 + i, reference: `audit-${i}` });
  await page.reload(); // a reload forgets the key (it lived in the tab's memory only): sign in again
  await page.waitForSelector('#signin:not([hidden])');
  assert.ok(await page.locator('#nav').isHidden());
  await signIn(page, ledger.keys['auditor-1']);
  await page.waitForSelector('#nav:not([hidden])');
  await ready(page, 'audit'); // the address kept #audit: it opens by itself
  assert.equal(await page.getAttribute('#consistency-status', 'data-ok'), 'true');
  assert.match(await page.textContent('#consistency-status'), new RegExp(`extends the tree of size ${seen.size}`));
  await shot(page, '21-auditor-audit');
  const exported = await downloadText(page, '#export-button');
  const header = JSON.parse(exported.split('\n')[0]);
  assert.equal(header.format, 'coalition-ledger-export/1');
  assert.equal(header.ledger_key, ledger.ledgerKey.pub);
  // a history that differs from the one seen: the page says so
  const now = await page.evaluate(() => JSON.parse(localStorage.getItem('coalition-ledger.checkpoint-seen')));
  await page.evaluate((s) => localStorage.setItem('coalition-ledger.checkpoint-seen', JSON.stringify({ ...s, size: s.size - 1, root: s.root })), now);
  await visit(page, 'overview');
  await visit(page, 'audit');
  assert.equal(await page.getAttribute('#consistency-status', 'data-ok'), 'false');
  assert.match(await page.textContent('#consistency-status'), /CONSISTENCY PROOF FAILED/);
  await shot(page, '22-auditor-consistency-failed');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the page\'s RFC 9162 check accepts the ledger\'s proofs from many sizes (powers of two and not) and refuses altered ones', async () => {
  const page = await openAs('auditor-1');
  const second = Number(ledger.call(op(), 'GET', '/v1/admin/checkpoint', undefined, 'text/plain').split('\n')[1]);
  const proofs = [];
  for (const first of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, second - 1, second]) {
    if (first >= 1 && first <= second) proofs.push(ledger.call(op(), 'GET', `/v1/journal/consistency?first=${first}&second=${second}`));
  }
  const verdicts = await page.evaluate(async (list) => {
    const { verifyConsistency } = await import('./verify.js');
    const out = [];
    for (const p of list) {
      const good = await verifyConsistency(p.first, p.second, p.first_root, p.second_root, p.proof);
      const altered = p.proof.length === 0 ? false : await verifyConsistency(p.first, p.second, p.first_root, p.second_root,
        [p.proof[0].replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), ...p.proof.slice(1)]);
      const wrongRoot = await verifyConsistency(p.first, p.second, p.second_root === p.first_root ? p.proof[0] || 'AAAA' : p.second_root, p.second_root, p.proof);
      out.push([p.first, good, altered, wrongRoot]);
    }
    return out;
  }, proofs);
  for (const [first, good, altered, wrongRoot] of verdicts) {
    assert.equal(good, true, `proof ${first}..${second} refused`);
    assert.equal(altered, false, `altered proof ${first}..${second} accepted`);
    if (first !== second) assert.equal(wrongRoot, false, `wrong first root ${first}..${second} accepted`);
  }
  await page.context().close();
});

test('auditor: read only — no run buttons, a forged run shows the 403 plainly, every page opens', async () => {
  const page = await openAs('auditor-1');
  for (const name of ['overview', 'settlements', 'positions', 'expiry', 'liability', 'audit']) {
    await visit(page, name);
    await shot(page, `30-auditor-${name}`);
  }
  await visit(page, 'settlements');
  assert.equal(await page.locator('#run-settlement-button').count(), 0);
  await visit(page, 'expiry');
  assert.equal(await page.locator('#run-expiry-button').count(), 0);
  const count = ledger.call(op(), 'GET', '/v1/admin/settlements?limit=200').settlements.length;
  await visit(page, 'settlements?run=1', { problem: true });
  const problem = await page.locator('#run-result .problem').textContent();
  assert.match(problem, /403/);
  assert.match(problem, /forbidden/);
  assert.equal(ledger.call(op(), 'GET', '/v1/admin/settlements?limit=200').settlements.length, count);
  await shot(page, '31-auditor-forged-run-refused');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('partner: its own liability, statements and transactions only', async () => {
  const coffee = ledger.keys.coffee;
  const page = await openAs('coffee');
  assert.deepEqual(await page.$$eval('#nav a', (as) => as.map((a) => a.dataset.page)), ['overview', 'settlements', 'liability', 'transactions']);
  await visit(page, 'overview');
  assert.deepEqual((await rows(page, 'liability')).map((r) => r.issuer), ['coffee']);
  await shot(page, '40-partner-overview');
  await visit(page, 'settlements');
  const api = ledger.call(coffee, 'GET', '/v1/settlements?limit=20');
  assert.deepEqual((await rows(page, 'settlements')).map((r) => [r.id, Number(r.net)]), api.settlements.map((s) => [s.id, s.position.net]));
  await shot(page, '41-partner-settlements');
  await visit(page, `settlements?id=${api.settlements[0].id}`);
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'true');
  const position = await rows(page, `statement-${api.settlements[0].id}-position`);
  assert.deepEqual(position.map((r) => r.partner), ['coffee']);
  await shot(page, '42-partner-statement');
  const to = Math.floor(Date.now() / 1000) - 2;
  await visit(page, `liability?from=${to - 86400}&to=${to}`);
  assert.equal(await page.getAttribute('#signature-status', 'data-ok'), 'true');
  await shot(page, '43-partner-liability');
  await visit(page, 'transactions?member=m-1');
  const tx = ledger.call(coffee, 'GET', '/v1/members/m-1/transactions?limit=20').transactions;
  assert.deepEqual((await rows(page, 'transactions')).map((r) => r.id), tx.map((t) => t.id));
  await shot(page, '44-partner-transactions');
  // the admin API stays closed to a partner key, whatever the page is asked
  await page.evaluate(() => { document.querySelector('.page').removeAttribute('data-ready'); location.hash = 'audit'; });
  await ready(page, 'overview');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the page talked to the ledger only', () => {
  assert.deepEqual(foreign, []);
});
