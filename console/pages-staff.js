// pages-staff.js — the operator's and the auditor's pages (what a role may do is the ledger's
// decision: run controls are drawn for operators only, and a run the ledger refuses shows its
// problem). Each page reads the API of issue 19 exactly as api19.md states it.
import { h, table, fmtInt, fmtTime, heading, problemBox, status, csvText, download } from './util.js';
import { lineChart, stackedBarChart } from './chart.js';
import { ledgerKeyPanel, signedReportBlock, pager } from './widgets.js';
import { openCheckpoint, lastSeenCheckpoint, rememberCheckpoint, verifyConsistency } from './verify.js';

const go = (hash) => { location.hash = hash; };

// ---- Overview ----
export async function overview(ctx) {
  const { session, page } = ctx;
  const answer = await session.request('GET', '/v1/admin/liability');
  const liability = answer.json;
  const pv = liability.point_value || {};
  page.append(heading('Overview'),
    h('p', {}, `Point value in force: ${pv.value_num}/${pv.value_den} ${liability.currency} minor units per point. Amounts are in ${liability.currency} minor units.`),
    table([
      { key: 'issuer', label: 'Issuer' },
      { key: 'outstanding', label: 'Outstanding points', num: true },
      { key: 'liability', label: `Liability (${liability.currency} minor units)`, num: true },
      { key: 'expiring_30d', label: 'Expiring ≤ 30 days', num: true },
      { key: 'expiring_60d', label: 'Expiring ≤ 60 days', num: true },
      { key: 'expiring_90d', label: 'Expiring ≤ 90 days', num: true },
    ], liability.issuers, { name: 'liability', caption: 'Outstanding points and liability per issuer' }));
  const note = await session.request('GET', '/v1/admin/checkpoint');
  const cp = await openCheckpoint(note.text);
  page.append(h('div', { class: 'card', id: 'checkpoint' }, h('h3', {}, 'Last checkpoint'),
    h('dl', {}, h('dt', {}, 'Tree size'), h('dd', { 'data-key': 'size' }, fmtInt(cp.size)),
      h('dt', {}, 'Root'), h('dd', { 'data-key': 'root' }, h('code', {}, cp.root)),
      h('dt', {}, 'Signed at'), h('dd', {}, fmtTime(Math.floor(Date.now() / 1000)), ' (fresh note)'),
      h('dt', {}, 'Origin'), h('dd', {}, cp.origin)),
    status(cp.ok, cp.reason)));
}

// ---- Settlements ----
export async function settlements(ctx) {
  const { session, page, params, role } = ctx;
  if (params.get('id')) return settlement(ctx, params.get('id'));
  page.append(heading('Settlements'), ledgerKeyPanel(() => ctx.reload()));
  const result = h('div', { id: 'run-result' });
  if (role === 'operator') {
    const periodEnd = h('input', { type: 'datetime-local', id: 'period-end', step: 1 });
    const fee = h('input', { type: 'number', id: 'fee-bp', min: 0, max: 10000, placeholder: '0' });
    page.append(h('form', { class: 'card run', id: 'run-settlement', onsubmit: (e) => { e.preventDefault(); runSettlement(ctx, periodEnd.value, fee.value, result); } },
      h('h3', {}, 'Run a settlement'),
      h('label', {}, 'Period end (UTC, empty: now) ', periodEnd),
      h('label', {}, 'Operator fee (basis points) ', fee),
      h('button', { type: 'submit', id: 'run-settlement-button' }, 'Run settlement')));
  }
  page.append(result);
  if (params.get('run')) { // an addressable action: the ledger decides who may run it
    history.replaceState(null, '', '#settlements'); // never run again by a reload or "back"
    await runSettlement(ctx, '', '', result);
  }
  const after = params.get('after');
  const list = await session.get(`/v1/admin/settlements?limit=${ctx.pageSize}${after ? '&after=' + encodeURIComponent(after) : ''}`);
  const rows = list.settlements.map((s) => ({ ...s, brands: s.positions.length,
    donors: s.positions.filter((p) => p.role === 'donor').map((p) => p.partner).join(' ') }));
  page.append(table([
    { key: 'id', label: 'Settlement', render: (v) => h('a', { href: `#settlements?id=${v}` }, v) },
    { key: 'period_end', label: 'Period end', time: true },
    { key: 'from_seq', label: 'From seq', num: true },
    { key: 'cutoff_seq', label: 'Cutoff seq', num: true },
    { key: 'currency', label: 'Currency' },
    { key: 'fee_bp', label: 'Fee (bp)', num: true },
    { key: 'brands', label: 'Brands', num: true },
    { key: 'donors', label: 'Donors' },
  ], rows, { name: 'settlements', caption: 'Settlement periods, newest first',
    csv: async () => csvText(['id', 'period_end', 'from_seq', 'cutoff_seq', 'currency', 'fee_bp'], list.settlements) }),
  pager(list.next, params, 'settlements'));
}

async function runSettlement(ctx, periodEnd, feeBp, result) {
  const body = {};
  if (periodEnd) body.period_end = periodEnd.length === 16 ? periodEnd + ':00Z' : periodEnd + 'Z';
  if (feeBp !== '') body.fee_bp = Number(feeBp);
  result.replaceChildren(h('p', { class: 'hint' }, 'Running…'));
  try {
    const answer = await ctx.session.post('/v1/admin/settlements', body);
    result.replaceChildren(status(true, `Settlement ${answer.settlement.id} run: ${answer.settlement.positions.length} brands, ${answer.settlement.payments.length} payments.`));
    setTimeout(() => go(`settlements?id=${answer.settlement.id}`), 0);
  } catch (e) {
    result.replaceChildren(problemBox(e, 'The ledger refused the settlement run'));
  }
}

// One settlement: pair matrix, positions, fees, payments; the signed report and its check.
async function settlement(ctx, id) {
  const { session, page } = ctx;
  const answer = await session.request('GET', `/v1/admin/settlements/${encodeURIComponent(id)}`);
  const s = answer.json.settlement;
  const brands = [...new Set(s.pairs.flatMap((p) => [p.redeemer, p.issuer]))].sort();
  const matrixRows = brands.map((r) => {
    const row = { redeemer: r };
    for (const i of brands) {
      const pair = s.pairs.find((p) => p.redeemer === r && p.issuer === i);
      row[i] = pair ? pair.amount : r === i ? null : 0;
    }
    return row;
  });
  page.append(heading(`Settlement ${s.id}`, h('a', { href: '#settlements' }, '← all settlements')),
    ledgerKeyPanel(() => ctx.reload()),
    h('p', {}, `Period end ${fmtTime(s.period_end)}; entries ${s.from_seq}..${s.cutoff_seq}; ${s.currency}; fee ${s.fee_bp} bp.`),
    await signedReportBlock(answer, 'settlement', { name: s.id,
      csv: async () => (await session.request('GET', `/v1/admin/settlements/${encodeURIComponent(id)}`, { accept: 'text/csv' })).text }),
    table([{ key: 'redeemer', label: 'Redeemer ↓ / issuer →' }, ...brands.map((b) => ({ key: b, label: b, num: true }))], matrixRows,
      { name: `${s.id}-matrix`, caption: `Pair matrix: amount owed by each issuer (column) to each redeemer (row), ${s.currency} minor units` }),
    table([
      { key: 'redeemer', label: 'Redeemer' }, { key: 'issuer', label: 'Issuer' },
      { key: 'points', label: 'Points', num: true }, { key: 'amount', label: 'Amount', num: true }, { key: 'fee', label: 'Fee', num: true },
    ], s.pairs, { name: `${s.id}-pairs`, caption: 'Pairs (gross amounts and operator fees)' }),
    table([
      { key: 'partner', label: 'Brand' }, { key: 'receivable', label: 'Receivable', num: true }, { key: 'payable', label: 'Payable', num: true },
      { key: 'fees', label: 'Fees', num: true }, { key: 'net', label: 'Net', num: true }, { key: 'role', label: 'Role' },
    ], s.positions, { name: `${s.id}-positions`, caption: 'Net positions' }),
    table([{ key: 'from', label: 'From' }, { key: 'to', label: 'To' }, { key: 'amount', label: 'Amount', num: true }],
      s.payments, { name: `${s.id}-payments`, caption: 'Payment instructions', empty: 'no payments: every brand is even' }));
}

// ---- Positions over time ----
export async function positions(ctx) {
  const { session, page } = ctx;
  const all = [];
  let after = null;
  for (let i = 0; i < ctx.maxPages; i++) {
    const list = await session.get(`/v1/admin/settlements?limit=200${after ? '&after=' + encodeURIComponent(after) : ''}`);
    all.push(...list.settlements);
    if (!list.next) break;
    after = list.next;
  }
  all.reverse(); // oldest first
  const brands = [...new Set(all.flatMap((s) => s.positions.map((p) => p.partner)))].sort();
  const net = (s, b) => { const p = s.positions.find((x) => x.partner === b); return p ? p.net : 0; };
  const rows = all.map((s) => Object.fromEntries([['id', s.id], ['period_end', s.period_end], ...brands.map((b) => [b, net(s, b)])]));
  page.append(heading('Positions over time'),
    h('p', {}, 'Each brand\'s net position (receivable − payable) per settlement period: below zero a donor, above zero a recipient.'),
    h('div', { class: 'chart-wrap', id: 'positions-chart' }, lineChart({
      title: 'Net position per brand and settlement period',
      xTitle: 'Settlement period (end date, oldest → newest)',
      yTitle: `Net (${all[0] ? all[0].currency : ''} minor units)`,
      labels: all.map((s) => `${s.id} ${fmtTime(s.period_end).slice(5, 10)}`),
      series: brands.map((b) => ({ name: b, values: all.map((s) => net(s, b)) })),
    })),
    table([{ key: 'id', label: 'Settlement' }, { key: 'period_end', label: 'Period end', time: true }, ...brands.map((b) => ({ key: b, label: b, num: true }))],
      rows, { name: 'positions', caption: 'Net position per brand (the chart\'s numbers)' }));
}

// ---- Expiry ----
export async function expiry(ctx) {
  const { session, page, params, role } = ctx;
  if (params.get('id')) return expiryRun(ctx, params.get('id'));
  page.append(heading('Expiry'), ledgerKeyPanel(() => ctx.reload()));
  const result = h('div', { id: 'run-result' });
  if (role === 'operator') {
    page.append(h('form', { class: 'card run', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const answer = await session.post('/v1/admin/expiry-runs', {});
        go(`expiry?id=${answer.run.id}`);
      } catch (err) { result.replaceChildren(problemBox(err, 'The ledger refused the expiry run')); }
    } }, h('h3', {}, 'Run expiry now'), h('button', { type: 'submit', id: 'run-expiry-button' }, 'Run expiry')));
  }
  page.append(result);
  const after = params.get('after');
  const list = await session.get(`/v1/admin/expiry-runs?limit=${ctx.pageSize}${after ? '&after=' + encodeURIComponent(after) : ''}`);
  page.append(table([
    { key: 'id', label: 'Run', render: (v) => h('a', { href: `#expiry?id=${v}` }, v) },
    { key: 'as_of', label: 'As of', time: true }, { key: 'lots', label: 'Lots', num: true },
    { key: 'points', label: 'Points expired', num: true }, { key: 'members', label: 'Members', num: true },
  ], list.runs, { name: 'expiry-runs', caption: 'Expiry runs, newest first',
    csv: async () => csvText(['id', 'as_of', 'lots', 'points', 'members'], list.runs) }),
  pager(list.next, params, 'expiry'));
  const forecast = await session.get('/v1/admin/expiry-forecast?weeks=26');
  const issuers = [...new Set(forecast.weeks.flatMap((w) => w.issuers.map((i) => i.issuer)))].sort();
  const pts = (w, i) => { const x = w.issuers.find((r) => r.issuer === i); return x ? x.points : 0; };
  const rows = forecast.weeks.map((w) => Object.fromEntries([['start', w.start], ['end', w.end], ...issuers.map((i) => [i, pts(w, i)])]));
  page.append(h('h3', {}, 'Forecast: points expiring per week, next 26 weeks'),
    h('div', { class: 'chart-wrap', id: 'forecast-chart' }, stackedBarChart({
      title: 'Points expiring per week, by issuer', xTitle: 'Week starting (UTC)', yTitle: 'Points', every: 2,
      labels: forecast.weeks.map((w) => fmtTime(w.start).slice(5, 10)),
      series: issuers.map((i) => ({ name: i, values: forecast.weeks.map((w) => pts(w, i)) })),
    })),
    table([{ key: 'start', label: 'Week start', time: true }, { key: 'end', label: 'Week end', time: true }, ...issuers.map((i) => ({ key: i, label: i, num: true }))],
      rows, { name: 'expiry-forecast', caption: `Forecast as of ${fmtTime(forecast.as_of)}`,
        csv: async () => csvText(['start', 'end', 'issuer', 'points'], forecast.weeks.flatMap((w) => w.issuers.map((i) => ({ start: w.start, end: w.end, ...i })))) }));
}

async function expiryRun(ctx, id) {
  const { session, page } = ctx;
  const answer = await session.request('GET', `/v1/admin/expiry-runs/${encodeURIComponent(id)}`);
  const run = answer.json.run;
  page.append(heading(`Expiry run ${run.id}`, h('a', { href: '#expiry' }, '← all runs')), ledgerKeyPanel(() => ctx.reload()),
    h('p', {}, `As of ${fmtTime(run.as_of)}: ${fmtInt(run.points)} points in ${fmtInt(run.lots)} lots of ${fmtInt(run.members)} members expired.`),
    await signedReportBlock(answer, 'run', { name: run.id,
      csv: async () => (await session.request('GET', `/v1/admin/expiry-runs/${encodeURIComponent(id)}`, { accept: 'text/csv' })).text }),
    table([{ key: 'issuer', label: 'Issuer' }, { key: 'lots', label: 'Lots', num: true }, { key: 'points', label: 'Points', num: true }],
      run.by_issuer, { name: `${run.id}-by-issuer`, caption: 'By issuer' }));
}

// ---- Liability and breakage ----
export function periodForm(ctx, page, issuers, target) {
  const { params } = ctx;
  const toDefault = Math.floor(Date.now() / 1000) - 60;
  const to = Number(params.get('to') || toDefault), from = Number(params.get('from') || to - 30 * 86400);
  const issuer = issuers ? h('select', { id: 'issuer' }, issuers.map((i) => h('option', { value: i, selected: i === params.get('issuer') }, i))) : null;
  const asInput = (s) => new Date(s * 1000).toISOString().slice(0, 19);
  const fromInput = h('input', { type: 'datetime-local', id: 'from', step: 1, value: asInput(from) });
  const toInput = h('input', { type: 'datetime-local', id: 'to', step: 1, value: asInput(to) });
  const secs = (v) => Math.floor(Date.parse(v + 'Z') / 1000);
  page.append(h('form', { class: 'card', id: 'period-form', onsubmit: (e) => {
    e.preventDefault();
    go(`${target}?${issuer ? 'issuer=' + encodeURIComponent(issuer.value) + '&' : ''}from=${secs(fromInput.value)}&to=${secs(toInput.value)}`);
  } }, issuer ? h('label', {}, 'Issuer ', issuer) : null, h('label', {}, 'From (UTC) ', fromInput), h('label', {}, 'To (UTC) ', toInput),
  h('button', { type: 'submit', id: 'report-button' }, 'Show report')));
  return { issuer: issuer ? issuer.value : null, from, to, chosen: params.get('from') !== null };
}

export async function liabilityReportView(ctx, answer, csvTarget) {
  const r = answer.json.report;
  const lines = ['opening', 'issued', 'redeemed', 'redeemed_own', 'reversed', 'expired', 'closing'];
  const rows = lines.map((l) => ({ line: l, points: r.points[l], money: r.money[l] }));
  for (const b of r.points.redeemed_by) {
    const m = r.money.redeemed_by.find((x) => x.redeemer === b.redeemer);
    rows.splice(rows.findIndex((x) => x.line === 'redeemed_own'), 0, { line: `↳ redeemed by ${b.redeemer}`, points: b.points, money: m ? m.amount : null });
  }
  const rate = r.rate || {};
  return [
    h('p', {}, `Issuer ${r.issuer}, ${fmtTime(r.from)} → ${fmtTime(r.to)} (entries ${r.from_seq}..${r.cutoff_seq}); ${r.currency} minor units.`),
    await signedReportBlock(answer, 'report', { name: `liability-${r.issuer}-${r.from}-${r.to}`,
      csv: async () => (await ctx.session.request('GET', csvTarget, { accept: 'text/csv' })).text }),
    table([{ key: 'line', label: 'Line' }, { key: 'points', label: 'Points', num: true }, { key: 'money', label: `Money (${r.currency})`, num: true }],
      rows, { name: 'liability-lines', caption: 'Points and their value at the point value in force' }),
    table([{ key: 'item', label: 'Revenue (proportional method)' }, { key: 'value', label: 'Amount', num: true }], [
      { item: 'Expected redemption rate (bp)', value: rate.bp },
      { item: 'Allocated amount', value: r.allocated },
      { item: 'Cumulative revenue before the period', value: r.revenue.cumulative_before },
      { item: 'Cumulative revenue at period end', value: r.revenue.cumulative },
      { item: 'Revenue recognised in the period', value: r.revenue.period },
      { item: '↳ from redemptions', value: r.revenue.from_redemptions },
      { item: '↳ from breakage', value: r.revenue.from_breakage },
      { item: 'Deferred revenue (contract liability)', value: r.deferred_revenue },
    ], { name: 'liability-revenue', caption: `Rate source: ${rate.source === 'operator' ? `set by the operator (entry ${rate.seq})` : rate.source === 'history' ? 'derived from closed history' : rate.source || 'none'}` }),
  ];
}

export async function liability(ctx) {
  const { session, page } = ctx;
  page.append(heading('Liability and breakage'), ledgerKeyPanel(() => ctx.reload()));
  const issuers = (await session.get('/v1/admin/liability')).issuers.map((i) => i.issuer);
  const period = periodForm(ctx, page, issuers, 'liability');
  if (!period.chosen) { page.append(h('p', { class: 'hint' }, 'Choose an issuer and a period (it must have ended), then "Show report".')); return; }
  const target = `/v1/admin/liability-report?issuer=${encodeURIComponent(period.issuer)}&from=${period.from}&to=${period.to}`;
  page.append(...await liabilityReportView(ctx, await session.request('GET', target), target));
}

// ---- Audit ----
export async function audit(ctx) {
  const { session, page } = ctx;
  page.append(heading('Audit'), ledgerKeyPanel(() => ctx.reload()));
  const note = await session.request('GET', '/v1/admin/checkpoint');
  const cp = await openCheckpoint(note.text);
  page.append(h('div', { class: 'card' }, h('h3', {}, 'Current checkpoint'),
    h('pre', { class: 'note', id: 'checkpoint-note' }, note.text), h('div', { id: 'checkpoint-status' }, status(cp.ok, cp.reason))));
  const seen = lastSeenCheckpoint();
  const box = h('div', { class: 'card', id: 'consistency' }, h('h3', {}, 'Consistency with the checkpoint you last saw'));
  page.append(box);
  if (!cp.ok) {
    box.append(status(false, 'The current checkpoint is not verified, so it is not remembered as seen.'));
  } else if (!seen || seen.origin !== cp.origin) {
    rememberCheckpoint(cp);
    box.append(status(true, `First visit from this browser: checkpoint of size ${cp.size} remembered. Next time the console proves the ledger only grew from it.`));
  } else if (seen.size > cp.size) {
    box.append(status(false, `LEDGER SHRANK: you last saw size ${seen.size}, the ledger now signs size ${cp.size}.`));
  } else {
    const proof = await session.get(`/v1/journal/consistency?first=${seen.size}&second=${cp.size}`);
    const rootsMatch = proof.first_root === seen.root && proof.second_root === cp.root;
    const ok = rootsMatch && await verifyConsistency(seen.size, cp.size, seen.root, cp.root, proof.proof);
    box.append(h('div', { id: 'consistency-status', 'data-ok': String(ok) }, status(ok, ok
      ? `Consistency proof verified: the tree of size ${cp.size} extends the tree of size ${seen.size} you last saw (${proof.proof.length} hashes, RFC 9162).`
      : `CONSISTENCY PROOF FAILED from size ${seen.size} to ${cp.size}: the ledger's history differs from what you saw.`)),
    h('dl', {}, h('dt', {}, 'Last seen'), h('dd', {}, `size ${seen.size}, root `, h('code', {}, seen.root)),
      h('dt', {}, 'Now'), h('dd', {}, `size ${cp.size}, root `, h('code', {}, cp.root))));
    if (ok) rememberCheckpoint(cp);
  }
  const exportStatus = h('span', { class: 'hint' });
  page.append(h('div', { class: 'card' }, h('h3', {}, 'Export'),
    h('p', {}, 'The whole journal as JSON Lines with its signed checkpoint; check it offline with ', h('code', {}, 'ledger-verify EXPORT --ledger-key KEY'), '.'),
    h('button', { type: 'button', id: 'export-button', onclick: async () => {
      exportStatus.textContent = 'Exporting…';
      try {
        const answer = await session.request('GET', '/v1/admin/export');
        download(`ledger-export-${cp.size}.jsonl`, answer.text, 'application/x-ndjson');
        exportStatus.textContent = `Downloaded (${answer.text.length} bytes).`;
      } catch (e) { exportStatus.replaceChildren(problemBox(e, 'Export')); }
    } }, 'Download export'), exportStatus));
}
