// check-routes.mjs — make test: docs/openapi.json has exactly the routes ledgerd serves. The signed
// routes come from the route table (include/http/routes.h, X("METHOD", "/pattern", ...), ':' for a
// parameter segment); the unsigned ones from http_dispatch in src/http/http.c (an exact compare of
// call->path and method). Document paths compare with each {name} read as ':'. Prints each route
// missing from the document and each document operation ledgerd does not serve; exits 1 if any.
// Usage: node check-routes.mjs ROOT   (ROOT holds include/, src/ and docs/; tests plant changes in a copy)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? '.';
const routesText = readFileSync(join(root, 'include/http/routes.h'), 'utf8');
const httpText = readFileSync(join(root, 'src/http/http.c'), 'utf8');
const doc = JSON.parse(readFileSync(join(root, 'docs/openapi.json'), 'utf8'));

const served = new Set();
for (const m of routesText.matchAll(/X\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"/g)) served.add(`${m[1]} ${m[2]}`);
for (const m of httpText.matchAll(/strcmp\(call->path, "([^"]+)"\) == 0 && strcmp\(method, "([A-Z]+)"\) == 0/g))
  served.add(`${m[2]} ${m[1]}`);
if (served.size === 0) {
  console.log('check-routes: found no routes in routes.h or http.c (did their form change?)');
  process.exit(1);
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const documented = new Set();
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  const pattern = path.replace(/\{[^}/]+\}/g, ':');
  for (const method of methods) if (item[method]) documented.add(`${method.toUpperCase()} ${pattern}`);
}

let failures = 0;
for (const route of [...served].sort()) {
  if (!documented.has(route)) {
    console.log(`check-routes: ledgerd serves ${route}, docs/openapi.json does not describe it`);
    failures++;
  }
}
for (const route of [...documented].sort()) {
  if (!served.has(route)) {
    console.log(`check-routes: docs/openapi.json describes ${route}, which ledgerd does not serve`);
    failures++;
  }
}
console.log(`check-routes: ${served.size} routes served, ${documented.size} operations documented, ${failures} mismatch(es)`);
process.exit(failures > 0 ? 1 : 0);
