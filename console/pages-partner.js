// pages-partner.js — a brand's own pages: its liability, its settlement statements (signed,
// checked here), its liability report, its members' transactions. The partner endpoints answer
// the caller's own rows only; nothing here asks for another brand's.
import { h, table, fmtTime, heading, csvText } from './util.js';
import { ledgerKeyPanel, signedReportBlock, pager } from './widgets.js';
import { periodForm, liabilityReportView } from './pages-staff.js';

const go = (hash) => { location.hash = hash; };

export async function overview(ctx) {
  const { session, page, partner } = ctx;
  const liability = await session.get('/v1/liability');
  const pv = liability.point_value || {};
  page.append(heading(`Overview — ${partner}`),
    h('p', {}, `Point value in force: ${pv.value_num}/${pv.value_den} ${liability.currency} minor units per point.`),
    table([
      { key: 'issuer', label: 'Issuer' }, { key: 'outstanding', label: 'Outstanding points', num: true },
      { key: 'liability', label: `Liability (${liability.currency} minor units)`, num: true },
      { key: 'expiring_30d', label: 'Expiring ≤ 30 days', num: true }, { key: 'expiring_60d', label: 'Expiring ≤ 60 days', num: true },
      { key: 'expiring_90d', label: 'Expiring ≤ 90 days', num: true },
    ], liability.issuers, { name: 'liability', caption: 'Your points outstanding' }));
}

export async function settlements(ctx) {
  const { session, page, params } = ctx;
  const id = params.get('id');
  if (id) {
    const answer = await session.request('GET', `/v1/settlements/${encodeURIComponent(id)}/statement`);
    const st = answer.json.statement;
    page.append(heading(`Statement ${st.settlement}`, h('a', { href: '#settlements' }, '← all statements')), ledgerKeyPanel(() => ctx.reload()),
      h('p', {}, `Period end ${fmtTime(st.period_end)}; entries ${st.from_seq}..${st.cutoff_seq}; ${st.currency}.`),
      await signedReportBlock(answer, 'statement', { name: `statement-${st.settlement}` }),
      table([{ key: 'partner', label: 'Brand' }, { key: 'receivable', label: 'Receivable', num: true }, { key: 'payable', label: 'Payable', num: true },
        { key: 'fees', label: 'Fees', num: true }, { key: 'net', label: 'Net', num: true }, { key: 'role', label: 'Role' }],
      [st.position], { name: `statement-${st.settlement}-position`, caption: 'Your position' }),
      table([{ key: 'redeemer', label: 'Redeemer' }, { key: 'issuer', label: 'Issuer' }, { key: 'points', label: 'Points', num: true },
        { key: 'amount', label: 'Amount', num: true }, { key: 'fee', label: 'Fee', num: true }],
      st.pairs, { name: `statement-${st.settlement}-pairs`, caption: 'Your pairs' }),
      table([{ key: 'from', label: 'From' }, { key: 'to', label: 'To' }, { key: 'amount', label: 'Amount', num: true }],
        st.payments, { name: `statement-${st.settlement}-payments`, caption: 'Your payments', empty: 'no payment for you' }));
    return;
  }
  const after = params.get('after');
  const list = await session.get(`/v1/settlements?limit=${ctx.pageSize}${after ? '&after=' + encodeURIComponent(after) : ''}`);
  const rows = list.settlements.map((s) => ({ ...s, ...s.position }));
  const cols = ['id', 'period_end', 'from_seq', 'cutoff_seq', 'currency', 'fee_bp', 'receivable', 'payable', 'fees', 'net', 'role'];
  page.append(heading('Your settlement statements'),
    table([{ key: 'id', label: 'Settlement', render: (v) => h('a', { href: `#settlements?id=${v}` }, v) },
      { key: 'period_end', label: 'Period end', time: true }, { key: 'receivable', label: 'Receivable', num: true },
      { key: 'payable', label: 'Payable', num: true }, { key: 'fees', label: 'Fees', num: true }, { key: 'net', label: 'Net', num: true },
      { key: 'role', label: 'Role' }], rows, { name: 'settlements', caption: 'Newest first', csv: async () => csvText(cols, rows) }),
    pager(list.next, params, 'settlements'));
}

export async function liability(ctx) {
  const { session, page } = ctx;
  page.append(heading('Liability and breakage'), ledgerKeyPanel(() => ctx.reload()));
  const period = periodForm(ctx, page, null, 'liability');
  if (!period.chosen) { page.append(h('p', { class: 'hint' }, 'Choose a period (it must have ended), then "Show report".')); return; }
  const target = `/v1/liability-report?from=${period.from}&to=${period.to}`;
  page.append(...await liabilityReportView(ctx, await session.request('GET', target), target));
}

export async function transactions(ctx) {
  const { session, page, params } = ctx;
  const member = params.get('member') || '';
  const input = h('input', { type: 'text', id: 'member', value: member, spellcheck: 'false' });
  page.append(heading('Transactions'), h('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); go(`transactions?member=${encodeURIComponent(input.value)}`); } },
    h('label', {}, 'Member reference ', input), h('button', { type: 'submit' }, 'Show')));
  if (!member) return;
  const after = params.get('after');
  const list = await session.get(`/v1/members/${encodeURIComponent(member)}/transactions?limit=${ctx.pageSize}${after ? '&after=' + encodeURIComponent(after) : ''}`);
  const cols = ['id', 'seq', 'type', 'member', 'points', 'reference', 'created_at'];
  page.append(table([{ key: 'id', label: 'Transaction' }, { key: 'seq', label: 'Seq', num: true }, { key: 'type', label: 'Type' },
    { key: 'points', label: 'Points', num: true }, { key: 'reference', label: 'Reference' }, { key: 'created_at', label: 'Time' }],
  list.transactions, { name: 'transactions', caption: `Your transactions with ${member}`, csv: async () => csvText(cols, list.transactions) }),
  pager(list.next, params, 'transactions'));
}
