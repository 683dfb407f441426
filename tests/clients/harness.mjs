// harness.mjs — what both reference clients' tests stand on: the ledger of tests/browser/fixture.mjs
// (small seed: three brands with keys), a loopback proxy in front of it that misbehaves on demand,
// and a webhook sample signed with the ledger's key file by the openssl CLI (independent of the
// clients' code). node tests/clients/node_client.test.mjs uses it directly; run-python.mjs hands it
// to the Python tests as JSON in CLIENT_TEST.
//
// The proxy forwards every request to ledgerd unchanged, except that each request first takes the
// next step of a plan set by POST /__proxy/plan {"steps":[...]}:
//   "pass"       forward (also what happens when the plan is empty);
//   "503" / "503:N"  answer 503 database_busy with Retry-After: N (default 1) without forwarding;
//   "500"        answer 500 internal without forwarding;
//   "409"        answer 409 request_in_progress (the ledger still runs the same request) without forwarding;
//   "delay:MS"   forward, and hold the ledger's answer MS milliseconds before passing it on (the
//                client times out first: the effect happened, the answer is lost);
//   "drop"       close the connection without an answer, without forwarding;
//   "302"        redirect to the same target on ledgerd (a client must not follow it).
// GET /__proxy/seen lists {method, path, idempotency_key, step} of the requests since the last plan.
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLedger } from '../browser/fixture.mjs';

const binDir = resolve(new URL('../..', import.meta.url).pathname, process.env.TEST_BIN_DIR || 'bin');

export function startProxy(target) {
  let steps = [];
  let seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/__proxy/plan') {
        steps = JSON.parse(body.toString()).steps;
        seen = [];
        res.writeHead(204).end();
        return;
      }
      if (req.url === '/__proxy/seen') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(seen));
        return;
      }
      const step = steps.shift() || 'pass';
      seen.push({ method: req.method, path: req.url, idempotency_key: req.headers['idempotency-key'] ?? null, step });
      if (step === 'drop') { req.socket.destroy(); return; }
      if (step === '302') { res.writeHead(302, { Location: target + req.url }).end(); return; }
      if (step.startsWith('503') || step === '500' || step === '409') {
        const status = Number(step.slice(0, 3));
        const code = { 503: 'database_busy', 500: 'internal', 409: 'request_in_progress' }[status];
        const headers = { 'Content-Type': 'application/problem+json' };
        if (status === 503) headers['Retry-After'] = step.split(':')[1] ?? '1';
        res.writeHead(status, headers).end(JSON.stringify({ type: 'about:blank', title: 'Injected', status, code, detail: `the test proxy answered ${step}` }));
        return;
      }
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      try {
        const answer = await fetch(target + req.url, { method: req.method, headers, body: body.length ? body : undefined });
        const text = Buffer.from(await answer.arrayBuffer());
        if (step.startsWith('delay:')) await new Promise((ok) => setTimeout(ok, Number(step.slice(6))));
        if (res.destroyed) return;
        const out = {};
        for (const [k, v] of answer.headers) if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)) out[k] = v;
        res.writeHead(answer.status, out).end(text);
      } catch (e) {
        res.writeHead(502).end(String(e));
      }
    });
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    ok({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((done) => { server.closeAllConnections(); server.close(done); }) });
  }));
}

// A Standard Webhooks v1a signature of "<id>.<timestamp>.<body>" by the ledger key file, made by
// the openssl CLI (Ed25519 over the raw message).
export function opensslSign(keyFile, message) {
  const dir = mkdtempSync(join(tmpdir(), 'clients-sign-'));
  try {
    writeFileSync(join(dir, 'message'), message);
    return execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', keyFile, '-rawin', '-in', join(dir, 'message')]).toString('base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A sample delivery signed by the ledger's key, its timestamp ageS seconds ago.
export function webhookSample(ledger, ageS = 0) {
  const id = 'ev-42';
  const timestamp = String(Math.floor(Date.now() / 1000) - ageS);
  const body = '{"data":{"member":"card-1","points":500},"id":"ev-42","seq":42,"type":"earn"}';
  const signature = opensslSign(ledger.ledgerKey.file, `${id}.${timestamp}.${body}`);
  return { id, timestamp, body, signature };
}

// The journal the clients wrote, exported by ledgerctl and checked offline by ledger-verify (every
// partner signature re-verified): its report line; throws when the verifier refuses it.
export function verifyExport(ledger) {
  const file = join(ledger.dir, 'export.jsonl');
  execFileSync(join(binDir, 'ledgerctl'), ['export', '--out', file], { env: { ...process.env, ...ledger.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  return execFileSync(join(binDir, 'ledger-verify'), [file, '--ledger-key', ledger.ledgerKey.pub], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// The ledger (small seed, extra ledgerd settings in env) and the proxy in front of it.
// Webhooks may reach the tests' loopback receivers, polled often so a delivery takes milliseconds.
export async function startHarness(name, env = {}) {
  const ledger = await startLedger(name, { small: true, env: { LEDGER_WEBHOOK_ALLOW_PRIVATE: '1', LEDGER_WEBHOOK_POLL_MS: '50', ...env } });
  const proxy = await startProxy(ledger.url);
  return {
    ledger, proxy,
    async stop() { await proxy.close(); await ledger.stop(); },
    // what the Python tests need, as JSON
    describe() {
      return JSON.stringify({ url: ledger.url, proxy: proxy.url, ledger_key: ledger.ledgerKey.pub, keys: ledger.keys, webhook: webhookSample(ledger), webhook_old: webhookSample(ledger, 301) });
    },
  };
}
