// node_client.test.mjs — the Node reference client (clients/node/coalition_ledger.mjs) against a live
// ledgerd (tests/clients/harness.mjs): earn, burn, hold and capture, void, reversal, problems with
// their code and field, a request replayed under its Idempotency-Key, a timeout and a 503 and a
// dropped connection retried to exactly one effect, 4xx/500 never retried, bounded attempts, and
// Standard Webhooks verification against a signature made with the ledger's key file, then a live
// webhook: an endpoint registered on a loopback receiver, an earn, the delivery verified (its id
// is the event feed's), and the whole journal checked by ledger-verify.
// Run by tools/test.sh: node --test --test-reporter=tap tests/clients/node_client.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { LedgerClient, LedgerError, WebhookVerificationError, verifyWebhook } from '../../clients/node/coalition_ledger.mjs';
import { startHarness, webhookSample, verifyExport } from './harness.mjs';

setTimeout(() => { console.error('node client tests: over 60 s, stopped'); process.exit(1); }, 60000).unref();

let harness, coffee, books, viaProxy;
before(async () => {
  harness = await startHarness('clients_node');
  const { keys } = harness.ledger;
  coffee = new LedgerClient(harness.ledger.url, 'coffee-1', keys.coffee.file);
  books = new LedgerClient(harness.ledger.url, 'books-1', keys.books.file);
  viaProxy = (options = {}) => new LedgerClient(harness.proxy.url, 'coffee-1', keys.coffee.file, { backoffMs: 10, ...options });
});
after(async () => { if (harness) await harness.stop(); });

const plan = async (...steps) => {
  const r = await fetch(`${harness.proxy.url}/__proxy/plan`, { method: 'POST', body: JSON.stringify({ steps }) });
  assert.equal(r.status, 204);
};
const seen = async () => (await fetch(`${harness.proxy.url}/__proxy/seen`)).json();
const rejects = async (promise, check) => {
  try { await promise; } catch (e) { assert.ok(e instanceof LedgerError, String(e)); check(e); return e; }
  assert.fail('expected a LedgerError');
};

test('earn at one brand, burn at another: balances and consumed lots', async () => {
  const earned = await coffee.earn('n-earn', 500, 'n-till-1');
  assert.equal(earned.transaction.type, 'earn');
  assert.deepEqual(earned.balance, { balance: 500, available: 500 });
  const burned = await books.burn('n-earn', 200, 'n-order-1');
  assert.equal(burned.transaction.partner, 'books');
  assert.deepEqual(burned.transaction.consumed.map((c) => [c.issuer, c.points]), [['coffee', 200]]);
  const member = await books.member('n-earn');
  assert.equal(member.balance, 300);
  assert.equal(member.available, 300);
});

test('hold, partial capture, void', async () => {
  await coffee.earn('n-hold', 300, 'n-till-2');
  const held = await books.hold('n-hold', 100, 'n-pos-1', { ttlSeconds: 600 });
  assert.equal(held.hold.status, 'active');
  assert.equal(held.balance.available, 200);
  const captured = await books.capture(held.hold.id, { points: 60 });
  assert.equal(captured.transaction.type, 'burn');
  assert.equal(captured.transaction.points, 60);
  const second = await books.hold('n-hold', 10, 'n-pos-2');
  const voided = await books.void(second.hold.id);
  assert.equal(voided.hold.status, 'voided');
  const member = await books.member('n-hold');
  assert.deepEqual([member.balance, member.available], [240, 240]);
});

test('reversal of part of a burn, then of an earn', async () => {
  const earn = await coffee.earn('n-rev', 400, 'n-till-3');
  const burn = await books.burn('n-rev', 150, 'n-order-2');
  const partial = await books.reverse(burn.transaction.id, 'n-refund-1', { points: 50 });
  assert.equal(partial.transaction.type, 'reversal');
  assert.equal((await books.member('n-rev')).balance, 300);
  const full = await coffee.reverse(earn.transaction.id, 'n-refund-2', { points: 300 });
  assert.equal(full.transaction.type, 'reversal');
  assert.equal((await coffee.member('n-rev')).balance, 0);
  assert.equal((await coffee.transaction(earn.transaction.id)).transaction.id, earn.transaction.id);
  const history = await coffee.transactions('n-rev', { limit: 10 });
  assert.deepEqual(history.transactions.map((t) => t.type), ['reversal', 'earn']);
});

test('problems carry status, code and field', async () => {
  await rejects(books.burn('n-empty', 10, 'n-order-3'), (e) => {
    assert.equal(e.status, 422);
    assert.equal(e.code, 'insufficient_points');
    assert.equal(e.problem.available, 0);
  });
  await rejects(coffee.earn('n-bad', 0, 'n-till-4'), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, 'invalid_field');
    assert.equal(e.field, 'points');
  });
  const other = await coffee.earn('n-own', 5, 'n-till-5');
  await rejects(books.transaction(other.transaction.id), (e) => assert.deepEqual([e.status, e.code], [404, 'not_found']));
  const stranger = new LedgerClient(harness.ledger.url, 'nobody-1', harness.ledger.keys.coffee.file);
  await rejects(stranger.member('n-own'), (e) => assert.deepEqual([e.status, e.code], [401, 'unknown_key']));
});

test('the same Idempotency-Key replays the first answer: one journal entry', async () => {
  const body = { member: 'n-idem', points: 70, reference: 'n-till-6' };
  const first = await coffee.call('POST', '/v1/earn', body, { idempotencyKey: 'n-key-1' });
  const again = await coffee.call('POST', '/v1/earn', body, { idempotencyKey: 'n-key-1' });
  assert.equal(again.status, first.status);
  assert.equal(again.text, first.text);
  assert.equal((await coffee.transactions('n-idem')).transactions.length, 1);
  await rejects(coffee.call('POST', '/v1/earn', { ...body, points: 71 }, { idempotencyKey: 'n-key-1' }),
    (e) => assert.deepEqual([e.status, e.code], [422, 'idempotency_key_reused']));
});

test('a timeout shorter than the answer: the retry resolves to one effect', async () => {
  await plan('delay:1500');
  const client = viaProxy({ timeoutMs: 400 });
  const earned = await client.earn('n-slow', 90, 'n-till-7');
  assert.equal(earned.balance.balance, 90);
  const requests = await seen();
  assert.deepEqual(requests.map((r) => r.step), ['delay:1500', 'pass']);
  assert.equal(requests[0].idempotency_key, requests[1].idempotency_key);
  assert.equal((await coffee.transactions('n-slow')).transactions.length, 1);
  assert.equal((await coffee.member('n-slow')).balance, 90);
});

test('a 503 is retried after its Retry-After with the same key', async () => {
  await plan('503:1');
  const started = Date.now();
  const earned = await viaProxy().earn('n-busy', 30, 'n-till-8');
  assert.ok(Date.now() - started >= 1000, 'Retry-After: 1 honoured');
  assert.equal(earned.balance.balance, 30);
  const requests = await seen();
  assert.deepEqual(requests.map((r) => r.step), ['503:1', 'pass']);
  assert.equal(requests[0].idempotency_key, requests[1].idempotency_key);
});

test('409 request_in_progress is retried with the same key; 409 duplicate_reference is not', async () => {
  await plan('409');
  assert.equal((await viaProxy().earn('n-running', 12, 'n-till-12')).balance.balance, 12);
  const requests = await seen();
  assert.deepEqual(requests.map((r) => r.step), ['409', 'pass']);
  assert.equal(requests[0].idempotency_key, requests[1].idempotency_key);
  await plan();
  await rejects(viaProxy().earn('n-running', 12, 'n-till-12'), (e) => assert.deepEqual([e.status, e.code], [409, 'duplicate_reference']));
  assert.equal((await seen()).length, 1);
});

test('a dropped connection is retried; a GET carries no Idempotency-Key', async () => {
  await coffee.earn('n-drop', 11, 'n-till-9');
  await plan('drop');
  assert.equal((await viaProxy().member('n-drop')).balance, 11);
  const requests = await seen();
  assert.deepEqual(requests.map((r) => [r.step, r.idempotency_key]), [['drop', null], ['pass', null]]);
});

test('4xx, other 5xx and redirects are never retried or followed', async () => {
  await plan();
  await rejects(viaProxy().burn('n-never', 5, 'n-order-4'), (e) => assert.equal(e.code, 'insufficient_points'));
  assert.equal((await seen()).length, 1);
  await plan('500');
  await rejects(viaProxy().earn('n-never', 5, 'n-till-10'), (e) => assert.deepEqual([e.status, e.code], [500, 'internal']));
  assert.equal((await seen()).length, 1);
  await plan('302');
  await rejects(viaProxy().earn('n-never', 5, 'n-till-10'), (e) => assert.deepEqual([e.status, e.code], [302, 'http_302']));
  assert.equal((await seen()).length, 1);
  assert.equal((await coffee.member('n-never')).balance, 0);
});

test('attempts and total time are bounded; the error gives the key to retry with later', async () => {
  await plan('503:0', '503:0', '503:0', '503:0');
  const e = await rejects(viaProxy({ maxAttempts: 3 }).earn('n-bound', 8, 'n-till-11'),
    (error) => assert.deepEqual([error.status, error.code], [503, 'database_busy']));
  const requests = await seen();
  assert.equal(requests.length, 3);
  assert.ok(requests.every((r) => r.idempotency_key === e.idempotencyKey));
  await plan('503:30');
  const started = Date.now();
  await rejects(viaProxy({ maxTotalMs: 2000 }).earn('n-bound', 8, 'n-till-11', e.idempotencyKey), (error) => assert.equal(error.retryAfterS, 30));
  assert.ok(Date.now() - started < 1000, 'a Retry-After beyond the total time ends the call at once');
  await plan();
  assert.equal((await viaProxy().earn('n-bound', 8, 'n-till-11', e.idempotencyKey)).balance.balance, 8);
  // an attempt never outlives the call's total bound; the effect it had is found again by its key
  await plan('delay:1500');
  const slow = Date.now();
  const lost = await rejects(viaProxy({ maxTotalMs: 500 }).earn('n-bound', 9, 'n-till-13'), (error) => assert.deepEqual([error.status, error.code], [0, 'no_answer']));
  assert.ok(Date.now() - slow < 1200, 'the attempt was cut at the total bound');
  await plan();
  assert.equal((await viaProxy().earn('n-bound', 9, 'n-till-13', lost.idempotencyKey)).balance.balance, 17);
  assert.equal((await coffee.transactions('n-bound')).transactions.length, 2);
});

test('verifyWebhook accepts the ledger key\'s v1a signature and refuses tampering', async () => {
  const { ledger } = harness;
  const s = webhookSample(ledger);
  const headers = { 'Webhook-Id': s.id, 'webhook-timestamp': s.timestamp, 'webhook-signature': `v1,bm90IGFuIGhtYWM= v1a,${s.signature}` };
  assert.equal(verifyWebhook(headers, Buffer.from(s.body), ledger.ledgerKey.pub).seq, 42);
  assert.equal(verifyWebhook(new Headers(headers), s.body, `whpk_${ledger.ledgerKey.pub}`).id, 'ev-42');
  const refused = (h, body, key = ledger.ledgerKey.pub, options) =>
    assert.throws(() => verifyWebhook(h, body, key, options), WebhookVerificationError);
  refused(headers, s.body.replace('500', '501'));
  refused({ ...headers, 'Webhook-Id': 'ev-43' }, s.body);
  refused({ ...headers, 'webhook-timestamp': String(Number(s.timestamp) - 1) }, s.body);
  refused({ ...headers, 'webhook-signature': `v1,${s.signature}` }, s.body);
  refused(headers, s.body, harness.ledger.keys.coffee.pub);
  const old = webhookSample(ledger, 301);
  const oldSigned = { ...headers, 'webhook-timestamp': old.timestamp, 'webhook-signature': `v1a,${old.signature}` };
  refused(oldSigned, s.body);
  assert.equal(verifyWebhook(oldSigned, s.body, ledger.ledgerKey.pub, { toleranceS: 600 }).seq, 42);
  refused({ 'webhook-id': s.id, 'webhook-timestamp': s.timestamp }, s.body);
});

test('a live webhook from ledgerd verifies; its id is the feed event\'s', async () => {
  const deliveries = [];
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => { deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) }); res.writeHead(204).end(); });
  });
  await new Promise((ok) => receiver.listen(0, '127.0.0.1', ok));
  try {
    const url = `http://127.0.0.1:${receiver.address().port}/hooks`;
    const registered = await coffee.call('POST', '/v1/webhooks', { url, event_types: ['earn.created'] });
    assert.equal(registered.status, 201);
    const signingKey = registered.json.signing_key; // the ledger key as a partner is given it
    assert.equal(signingKey, `whpk_${harness.ledger.ledgerKey.pub}`);
    const earned = await coffee.earn('n-hook', 25, 'n-till-hook');
    for (let waited = 0; deliveries.length === 0 && waited < 10000; waited += 50) await new Promise((ok) => setTimeout(ok, 50));
    assert.equal(deliveries.length, 1, 'one delivery within 10 s');
    const [delivery] = deliveries;
    const event = verifyWebhook(delivery.headers, delivery.body, signingKey);
    assert.equal(event.type, 'earn.created');
    assert.equal(event.id, delivery.headers['webhook-id']);
    assert.equal(event.seq, earned.transaction.seq);
    const tampered = Buffer.from(delivery.body.toString().replace('"n-hook"', '"n-hoo0"'));
    assert.throws(() => verifyWebhook(delivery.headers, tampered, signingKey), WebhookVerificationError);
    const feed = await coffee.events({ after: earned.transaction.seq - 1, limit: 10 });
    assert.equal(feed.events[0].id, event.id);
    assert.equal(feed.events[0].type, 'earn.created');
  } finally {
    receiver.closeAllConnections();
    await new Promise((ok) => receiver.close(ok));
  }
});

test('the journal the client wrote verifies offline (ledger-verify)', () => {
  assert.match(verifyExport(harness.ledger), /^ok: \d+ entries verified/);
});
