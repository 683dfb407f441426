// run-python.mjs — runs the Python reference client's tests (test_python_client.py, Debian's
// /usr/bin/python3 with python3-cryptography) against the ledger and proxy of harness.mjs, so the
// ledger is set up once, in one place, for both clients. The Python tests print TAP summary lines
// ("# pass N", "# fail M") that tools/test-count.sh counts. Then the journal they wrote is exported
// and checked by ledger-verify. Exits non-zero when a test failed or the verifier refused.
// Run by tools/test.sh: node tests/clients/run-python.mjs
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startHarness, verifyExport } from './harness.mjs';

const python = process.env.CLIENT_PYTHON || '/usr/bin/python3';
const here = resolve(new URL('.', import.meta.url).pathname);
const harness = await startHarness('clients_python');
let status = 1;
try {
  const child = spawn(python, [resolve(here, 'test_python_client.py')], {
    env: { ...process.env, CLIENT_TEST: harness.describe(), PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const timer = setTimeout(() => { console.error('python client tests: over 60 s, stopped'); child.kill('SIGKILL'); }, 60000);
  status = await new Promise((ok) => child.on('exit', (code) => ok(code ?? 1)));
  clearTimeout(timer);
  // the journal the Python client wrote, checked offline; a refusal fails the step
  try {
    console.log(`# ledger-verify: ${verifyExport(harness.ledger)}`);
  } catch (e) {
    console.log(`# ledger-verify refused the export: ${e.stderr || e.message}`);
    status = 1;
  }
} finally {
  await harness.stop();
}
process.exit(status);
