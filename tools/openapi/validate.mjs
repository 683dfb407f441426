// validate.mjs — make test: checks every response the e2e suite received (tests/support.c appends
// them to $TEST_RESPONSE_LOG as JSON lines) against docs/openapi.json. Each line is matched to its
// operation (method + path template) and status; the content type must be one the document lists
// for that status, and a JSON body must validate against its schema (Ajv, JSON Schema 2020-12,
// the dialect of OpenAPI 3.1). A path in no operation must be answered 404 not_found, a method a
// path lacks 405 method_not_allowed (404 on the unsigned paths, which ledgerd matches before its
// route table), both as Problems. Prints each mismatch (method, path, status, the validator's
// message) and exits 1 when there is one.
// Usage: node validate.mjs docs/openapi.json responses.jsonl
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [documentPath, logPath] = process.argv.slice(2);
if (!documentPath || !logPath) {
  console.error('usage: node validate.mjs OPENAPI_JSON RESPONSES_JSONL');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(documentPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
addFormats(ajv);
ajv.addSchema(doc, 'openapi');

const pointer = (parts) => 'openapi#/' + parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
const compiled = new Map();
function validator(parts) {
  const key = pointer(parts);
  if (!compiled.has(key)) compiled.set(key, ajv.compile({ $ref: key }));
  return compiled.get(key);
}

const templates = Object.keys(doc.paths).map((template) => ({
  template,
  segments: template.split('/'),
}));
function findPath(path) {
  const segments = path.split('/');
  // a literal segment beats a parameter (e.g. /v1/journal/consistency over /v1/journal/{seq})
  let best = null, bestScore = -1;
  for (const t of templates) {
    if (t.segments.length !== segments.length) continue;
    let score = 0, ok = true;
    for (let i = 0; i < segments.length; i++) {
      if (t.segments[i].startsWith('{')) continue;
      if (t.segments[i] !== segments[i]) { ok = false; break; }
      score++;
    }
    if (ok && score > bestScore) { best = t.template; bestScore = score; }
  }
  return best;
}

const baseType = (type) => type.split(';')[0].trim().toLowerCase();
function mediaFor(content, type) {
  if (!content) return null;
  if (content[type]) return type;
  return Object.keys(content).find((k) => baseType(k) === baseType(type)) ?? null;
}
const isJson = (type) => /^application\/([a-z0-9.+-]*\+)?json$/.test(baseType(type));

function checkProblem(line, code) {
  const body = JSON.parse(line.body);
  const valid = validator(['components', 'schemas', 'Problem']);
  if (!valid(body)) return ajv.errorsText(valid.errors);
  if (body.code !== code) return `expected problem code ${code}, got ${body.code}`;
  return null;
}

function check(line) {
  const path = line.target.split('?')[0];
  const template = findPath(path);
  if (template === null) {
    return checkProblemOrFraming(line);
  }
  const method = line.method.toLowerCase();
  const operation = doc.paths[template][method];
  if (!operation) {
    if (line.status === 405) return checkProblem(line, 'method_not_allowed');
    // the unsigned paths are matched before the route table: another method there is an unknown path
    const unsigned = Object.values(doc.paths[template]).every((op) => Array.isArray(op.security) && op.security.length === 0);
    if (unsigned && line.status === 404) return checkProblem(line, 'not_found');
    return `${line.method} is not an operation of ${template}, answered ${line.status}`;
  }
  const response = operation.responses[String(line.status)] ?? operation.responses[`${String(line.status)[0]}XX`] ?? operation.responses.default;
  if (!response) return `status ${line.status} is not documented for ${line.method} ${template}`;
  const media = mediaFor(response.content, line.content_type);
  if (media === null) {
    return `content type "${line.content_type}" is not documented for ${line.method} ${template} ${line.status}`;
  }
  if (!isJson(media)) return null;
  let body;
  try {
    body = JSON.parse(line.body);
  } catch (error) {
    return `body is not JSON: ${error.message}`;
  }
  const statusKey = operation.responses[String(line.status)] ? String(line.status) : null;
  const valid = validator(['paths', template, method, 'responses', statusKey ?? `${String(line.status)[0]}XX`, 'content', media, 'schema']);
  return valid(body) ? null : ajv.errorsText(valid.errors, { dataVar: 'body' });
}

// a path no operation has: a not_found problem, or a framing problem answered before routing
function checkProblemOrFraming(line) {
  let body;
  try {
    body = JSON.parse(line.body);
  } catch (error) {
    return `a path no operation has answered ${line.status} with a body that is not JSON`;
  }
  const valid = validator(['components', 'schemas', 'Problem']);
  if (!valid(body)) return ajv.errorsText(valid.errors, { dataVar: 'body' });
  // answered before routing: the target, the framing, the body's size, the bodies in flight
  const allowed = ['not_found', 'invalid_request_target', 'malformed_request', 'body_too_large', 'server_busy'];
  return allowed.includes(body.code) ? null : `a path no operation has answered ${body.code}`;
}

const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.length > 0);
const failures = new Map(); // one report per (method, template, status, message)
let checked = 0;
for (const text of lines) {
  const line = JSON.parse(text);
  let message;
  try {
    message = check(line);
  } catch (error) {
    message = `${error.message}`;
  }
  checked++;
  if (message) {
    const template = findPath(line.target.split('?')[0]) ?? line.target.split('?')[0];
    const key = `${line.method} ${template} ${line.status}: ${message}`;
    if (!failures.has(key)) failures.set(key, { count: 0, example: line });
    failures.get(key).count++;
  }
}
for (const [key, { count, example }] of failures) {
  console.log(`MISMATCH ${key} (${count} response${count > 1 ? 's' : ''}; e.g. ${example.method} ${example.target} -> ${example.body.slice(0, 300)})`);
}
const bad = [...failures.values()].reduce((s, f) => s + f.count, 0);
console.log(`${checked} responses checked against ${documentPath}: ${checked - bad} valid, ${bad} mismatched (${failures.size} distinct)`);
if (checked === 0) {
  console.log('no responses were logged: is TEST_RESPONSE_LOG set for the e2e suite?');
  process.exit(1);
}
process.exit(failures.size > 0 ? 1 : 0);
