// fixture.mjs — a real ledger for the browser tests: a database on the test cluster
// (TEST_PG_HOST, as tools/test.sh starts it), migrations and genesis by ledgerctl, ledgerd on an
// ephemeral loopback port serving the repo's console/, and a small coalition made through signed
// calls: three brands, an operator, two auditors (one revoked), point value, earns and
// cross-brand burns, three settlements, an expiry run. `node tests/browser/fixture.mjs` keeps one
// running for a person to look at (it prints the URL and the key files). The reference clients'
// tests (tests/clients) start it with { small: true }: the brands, their keys and a point value only.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const binDir = resolve(root, process.env.TEST_BIN_DIR || 'bin');
const ctl = join(binDir, 'ledgerctl');

function run(file, args, env = {}, input) {
  return execFileSync(file, args, { env: { ...process.env, ...env }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 20000 });
}

// small: seed only the brands, their keys and a point value (no sleeps); env: more ledgerd settings.
export async function startLedger(name = 'browser_console', { small = false, env: extraEnv = {} } = {}) {
  const pgHost = process.env.TEST_PG_HOST;
  if (!pgHost) throw new Error('TEST_PG_HOST must name the test PostgreSQL socket folder (tools/pg.sh start)');
  const dir = mkdtempSync(join(tmpdir(), 'console-browser-'));
  const keys = join(dir, 'keys');
  mkdirSync(keys);
  const admin = ['-h', pgHost, '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'];
  run('psql', [...admin, '-c', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`]);
  run('psql', [...admin, '-c', `CREATE DATABASE "${name}"`]);
  const env = {
    LEDGER_DATABASE_URL: `host=${pgHost} user=postgres dbname=${name}`,
    LEDGER_ORIGIN: 'console.test.ledger',
    LEDGER_KEY_FILE: join(keys, 'ledger.pem'),
    LEDGER_UNSAFE_DURABILITY: process.env.LEDGER_UNSAFE_DURABILITY || 'test-cluster',
  };
  const key = (id) => {
    const file = join(keys, `${id}.pem`);
    run(ctl, ['keygen', '--out', file], env);
    return { id, file, pub: run(ctl, ['pubkey', '--key-file', file], env).trim() };
  };
  const ledgerKey = key('ledger');
  run(ctl, ['migrate'], env);
  const operator = key('operator-1');
  run(ctl, ['init', '--operator-key-id', operator.id, '--operator-public-key', operator.pub, '--currency', 'KZT'], env);

  const logFile = join(process.env.TEST_LOG_DIR || dir, `${name}.ledgerd.log`);
  const child = spawn(join(binDir, 'ledgerd'), [], {
    cwd: root,
    env: { ...process.env, ...env, LEDGER_LISTEN: '127.0.0.1:0', LEDGER_EXPIRY_INTERVAL_S: '0', LEDGER_CONSOLE_DIR: join(root, 'console'), ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const port = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('ledgerd did not start in 15 s:\n' + log)), 15000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /"msg":"listening".*"port":(\d+)/.exec(log);
      if (m) { clearTimeout(timer); ok(Number(m[1])); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`ledgerd exited ${code}:\n${log}`)); });
  });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const url = `http://127.0.0.1:${port}`;
  const ledger = {
    url, dir, env, child, keys: {}, ledgerKey, operator,
    log: () => log,
    // A signed call by ledgerctl as key; the body text answered (JSON parsed unless accept is set).
    call(key, method, path, body, accept) {
      const args = ['call', method, path];
      if (body !== undefined) args.push(typeof body === 'string' ? body : JSON.stringify(body));
      args.push('--key-id', key.id, '--key-file', key.file);
      if (accept) args.push('--accept', accept);
      const out = run(ctl, args, { ...env, LEDGER_URL: url });
      return accept ? out : JSON.parse(out);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((ok) => child.on('exit', ok));
      }
      writeFileSync(logFile, log);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  ledger.keys.operator = operator;
  try {
    seedBrands(ledger, key);
    if (small) ledger.call(operator, 'POST', '/v1/admin/point-values', { value_num: 1, value_den: 2 });
    else seed(ledger, key);
  } catch (e) {
    await ledger.stop();
    throw new Error(`seeding failed: ${e.stderr || e.message}\n${log.slice(-2000)}`);
  }
  return ledger;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

// Three brands with one key each (cinema's lots last 2 s).
function seedBrands(ledger, key) {
  const op = ledger.operator;
  const brands = [['coffee', 'Coffee House', 0], ['books', 'Book Corner', 5184000], ['cinema', 'City Cinema', 2]];
  for (const [code, name, validity] of brands) {
    ledger.call(op, 'POST', '/v1/admin/partners', validity ? { code, name, validity_seconds: validity } : { code, name });
    const k = key(`${code}-1`);
    ledger.call(op, 'POST', `/v1/admin/partners/${code}/keys`, { keyid: k.id, public_key: k.pub });
    ledger.keys[code] = k;
  }
}

// The console's coalition on top: auditors (one revoked), earns, burns, settlements, an expiry run.
function seed(ledger, key) {
  const op = ledger.operator;
  const call = (...a) => ledger.call(...a);
  for (const id of ['auditor-1', 'auditor-2']) {
    const k = key(id);
    call(op, 'POST', '/v1/admin/staff-keys', { keyid: k.id, public_key: k.pub, role: 'auditor' });
    ledger.keys[id] = k;
  }
  call(op, 'POST', '/v1/admin/keys/auditor-2/revoke', {});
  ledger.keys.stranger = key('stranger-1'); // a valid key file the ledger never registered
  call(op, 'POST', '/v1/admin/point-values', { value_num: 1, value_den: 2 });
  const { coffee, books, cinema } = ledger.keys;
  let ref = 0;
  const move = (k, path, member, points) => call(k, 'POST', path, { member, points, reference: `r-${++ref}` });
  // cinema's lots last 2 s: they expire before the expiry run below
  move(cinema, '/v1/earn', 'm-9', 300);
  const rounds = [[1000, 400, 150], [800, 100, 500], [600, 300, 50]];
  rounds.forEach(([earn, burnBooks, burnCinema], i) => {
    move(coffee, '/v1/earn', `m-${i}`, earn);
    move(books, '/v1/earn', `n-${i}`, earn / 2);
    move(books, '/v1/burn', `m-${i}`, burnBooks);
    move(cinema, '/v1/burn', `m-${i}`, burnCinema);
    move(coffee, '/v1/burn', `n-${i}`, 100 * (i + 1));
    sleep(1100);
    call(op, 'POST', '/v1/admin/settlements', i === 1 ? { fee_bp: 150 } : {});
  });
  move(coffee, '/v1/earn', 'm-7', 2500);
  sleep(1000);
  call(op, 'POST', '/v1/admin/expiry-runs', {});
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const ledger = await startLedger(process.env.FIXTURE_DB || 'browser_console_dev');
  console.log(`console: ${ledger.url}/console/`);
  console.log(`ledger key: ${ledger.ledgerKey.pub}`);
  for (const [role, k] of Object.entries(ledger.keys)) console.log(`${role}: ${k.id} ${k.file}`);
  writeFileSync('/tmp/console-fixture.json', JSON.stringify({ url: ledger.url, ledgerKey: ledger.ledgerKey.pub, keys: ledger.keys }));
  const stop = async () => { await ledger.stop(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
