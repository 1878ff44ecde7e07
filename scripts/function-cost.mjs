// What the window function costs per request on njs, CloudFront's engine,
// for each path a request can take: CloudFront fails a function that runs
// past its compute budget, and every covered request then gets CloudFront's
// error. scripts/bench runs this; it also runs alone:
//
//   node scripts/function-cost.mjs [--quick] [--binary MAINT] [--template FILE]
//                                  [--runs R] [--iterations N] [--json FILE]
//
// The function is rendered by `maint function` (--binary, else MAINT_BIN,
// else target/debug/maint) for a realistic config: a 900-byte page, the
// bypass secret, IPv4 and IPv6 ranges, open and API paths. --template FILE
// (or MAINT_FUNCTION_TEMPLATE) puts that config into a template on disk
// instead of the one the binary embeds (see tests/function/harness.mjs).
//
// A run is one njs process (MAINT_NJS, else `njs`) with the KeyValueStore
// stand-in the tests use: it builds its events, answers a few as a warm-up,
// then times N requests with Date.now() (njs 0.7.9 has no finer clock; N is
// chosen so a run lasts milliseconds to tens of them, and the error of a
// millisecond tick averages out over runs). Every path gets R runs, the
// paths interleaved so that a change in the machine's load falls on all.
// Runs are short on purpose: njs frees nothing before its VM ends (no
// garbage collector; CloudFront starts each request on a fresh VM), so a
// long loop in one process slows down as its memory grows to gigabytes.
// Reported: microseconds per request (the median over runs, min, max), each
// path's answer (a wrong one fails the script: its cost would say nothing),
// and the worst path. `floor` is the loop with a handler that only reads the
// state: what the stand-in and the promise machinery cost.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGET_US = 100;

const args = process.argv.slice(2);
const opt = { quick: false };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    if (i + 1 >= args.length) usage(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--quick') opt.quick = true;
  else if (a === '--binary') opt.binary = value();
  else if (a === '--template') opt.template = value();
  else if (a === '--iterations') opt.iterations = +value();
  else if (a === '--runs') opt.runs = +value();
  else if (a === '--json') opt.json = value();
  else usage(`unknown argument ${a}`);
}
function usage(why) {
  console.error(`function-cost: ${why}\nusage: node scripts/function-cost.mjs [--quick] [--binary MAINT] [--template FILE] [--runs R] [--iterations N] [--json FILE]`);
  process.exit(2);
}
const RUNS = opt.runs || (opt.quick ? 3 : 15);
const N = opt.iterations || (opt.quick ? 500 : 1000);
const WARM = Math.min(50, N);
if (!(N >= 1 && RUNS >= 1)) usage('--runs and --iterations take a positive number');
process.env.MAINT_BIN = resolve(opt.binary || process.env.MAINT_BIN || join(ROOT, 'target/debug/maint'));
if (opt.template) process.env.MAINT_FUNCTION_TEMPLATE = resolve(opt.template);
// After the environment is set: the harness reads it when loaded.
const { renderFunction, makeEvent, bypassHash, bypassToken, stateValue } = await import('../tests/function/harness.mjs');
const NJS = process.env.MAINT_NJS || 'njs';

// The size test's realistic page (tests/function/window.test.mjs).
const PAGE =
  '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
  '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="robots" content="noindex">\n' +
  '<title>Down for maintenance</title>\n<style>\n  html, body { height: 100%; margin: 0; }\n' +
  '  body { display: flex; align-items: center; justify-content: center;\n' +
  '         font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;\n' +
  '         background: #f4f5f7; color: #1f2933; }\n' +
  '  main { max-width: 36rem; margin: 1.5rem; padding: 2.5rem 3rem; background: #fff;\n' +
  '         border-radius: 12px; box-shadow: 0 4px 24px rgba(0, 0, 0, .08); text-align: center; }\n' +
  '  h1 { margin: 0 0 1rem; font-size: 1.75rem; }\n' +
  '  p { margin: 0; font-size: 1.1rem; line-height: 1.5; white-space: pre-line; }\n' +
  '</style>\n</head>\n<body>\n<main>\n  <h1>Down for maintenance</h1>\n  <p>{{ message }}</p>\n</main>\n</body>\n</html>\n';
const FILES = {
  'page.html': PAGE,
  'page.json': '{\n  "status": 503,\n  "error": "service_unavailable",\n  "title": "Down for maintenance",\n  "message": {{ message }}\n}\n',
};
const WINDOW = {
  template: 'page.html',
  json_template: 'page.json',
  message: 'We are upgrading our database and payment systems. The shop will be back by 14:00 UTC. Orders already placed are safe.',
  retry_after: 300,
  api_paths: ['/api/*', '/graphql'],
  bypass: {
    cidrs: ['10.0.0.0/8', '192.168.100.0/24', '203.0.113.7/32', '2001:db8::/32', '2a00:1450:4001:80b::/64', 'fd00::1/128'],
    open_paths: ['/health', '/webhooks/*', '/.well-known/*'],
    secret_env: 'MAINT_BYPASS_SECRET',
    cookie_max_age: 43200,
  },
};
const SECRET = 'open-sesame-4f1c9a';
const HASH = bypassHash(SECRET);
const now = Math.floor(Date.now() / 1000);
const ON = { state: stateValue({ until: now + 86400, message: 'Back by 14:00 UTC: we are moving to a bigger database.' }), bypass: HASH };
const OFF = { state: stateValue({ on: false }), bypass: HASH };

const VIEWER_V4 = '198.51.100.11';
const VIEWER_V6 = '2a02:1810:4d02:1900:1c3a:9f1e:2b4d:77aa';
const BROWSER = {
  accept: { value: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8' },
  referer: { value: 'https://www.example.com/products' },
};
const COOKIES = { _ga: { value: 'GA1.2.1234567890.1700000000' }, session: { value: 'c2Vzc2lvbi1pZC00MmY5YzE' } };
const HTML = '503 text/html; charset=utf-8';
const JSON_503 = '503 application/json';

// [name, what, kvs, event, expected answer]
const PATHS = [
  ['off', 'the window is off', OFF, { uri: '/products/42', headers: BROWSER, cookies: COOKIES }, 'pass'],
  ['page', 'the HTML page to a browser (IPv4)', ON, { uri: '/products/42', headers: BROWSER, cookies: COOKIES }, HTML],
  ['json-accept-v6', 'the JSON body by Accept, to an IPv6 viewer', ON,
    { uri: '/orders/42', ip: VIEWER_V6, headers: { accept: { value: 'application/json' } } }, JSON_503],
  ['json-api', 'the JSON body for an API path', ON,
    { method: 'POST', uri: '/api/v1/orders', headers: { accept: { value: 'application/json, text/plain, */*' } } }, JSON_503],
  ['open', 'an open path', ON, { method: 'POST', uri: '/webhooks/stripe', ip: '54.187.174.169', headers: { accept: { value: '*/*' } } }, 'pass'],
  ['allowed-v4', 'an allowed IPv4 network', ON, { uri: '/products/42', ip: '10.20.30.40', headers: BROWSER, cookies: COOKIES }, 'pass'],
  ['allowed-v6', 'an allowed IPv6 network', ON, { uri: '/products/42', ip: '2a00:1450:4001:80b::200e', headers: BROWSER, cookies: COOKIES }, 'pass'],
  ['bypass-link', 'the bypass link (302 with the cookie)', ON,
    { uri: '/shop/cart', headers: BROWSER, cookies: COOKIES,
      querystring: { item: { value: '42' }, 'maint-bypass': { value: SECRET }, tag: { value: 'a', multiValue: [{ value: 'a' }, { value: 'b c' }] } } }, '302'],
  ['cookie', 'a valid bypass cookie', ON,
    { uri: '/products/42', headers: BROWSER, cookies: { ...COOKIES, maint_bypass: { value: bypassToken(HASH) } } }, 'pass'],
  ['forged-cookie', 'a forged bypass cookie', ON,
    { uri: '/products/42', headers: BROWSER, cookies: { ...COOKIES, maint_bypass: { value: 'f'.repeat(64) } } }, HTML],
];

const DRIVER = `
async function __maintFloor(event) {
  const raw = await kvs.get('state');
  return event.request;
}
async function __maintBench(c) {
  var f = c.floor ? __maintFloor : handler, evs = [], res, i, t0;
  for (i = 0; i < c.warm + c.n; i++) evs.push(JSON.parse(c.event));
  for (i = 0; i < c.warm; i++) res = await f(evs[i]);
  t0 = Date.now();
  for (; i < c.warm + c.n; i++) res = await f(evs[i]);
  return {
    ms: Date.now() - t0,
    answer: res === evs[i - 1].request ? 'pass' : res.statusCode + (res.body ? ' ' + res.headers['content-type'].value : '')
  };
}
(function () {
  var c = __CASE__;
  globalThis.__maint = { entries: c.kvs, reads: [], down: false };
  __maintBench(c).then(function (out) {
    console.log('MAINT_COST ' + JSON.stringify(out));
  }, function (e) {
    console.log('MAINT_COST ' + JSON.stringify({ threw: String(e) }));
  });
})();
`;

const work = mkdtempSync(join(tmpdir(), 'maint-function-cost-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
copyFileSync(join(ROOT, 'templates/cloudfront-module.js'), join(work, 'cloudfront'));
const code = renderFunction(WINDOW, FILES);

/** One njs process: the path's event N times after a warm-up; µs per request and the last answer. */
function run(name, kvs, event, floor) {
  const file = join(work, `${name}.js`);
  const payload = JSON.stringify({ kvs, event: JSON.stringify(event), n: N, warm: WARM, floor });
  writeFileSync(file, code + '\n' + DRIVER.replace('__CASE__', () => payload));
  const proc = spawnSync(NJS, ['-p', work, file], { encoding: 'utf8', timeout: 10 * 60 * 1000 });
  if (proc.error) throw new Error(`function-cost: njs (${NJS}) could not run: ${proc.error.message}`);
  const line = proc.stdout.split('\n').find((l) => l.startsWith('MAINT_COST '));
  if (proc.status !== 0 || !line) throw new Error(`function-cost: njs failed on ${name} (${proc.status})\n${proc.stdout}\n${proc.stderr}`);
  const out = JSON.parse(line.slice('MAINT_COST '.length));
  if (out.threw) throw new Error(`function-cost: the function threw on ${name}: ${out.threw}`);
  return { us: (out.ms * 1000) / N, answer: out.answer };
}

const version = spawnSync(NJS, ['-v'], { encoding: 'utf8' }).stdout.trim();
console.log(`window function cost on njs ${version}: microseconds per request, median of ${RUNS} runs of ${N} requests (each run one njs process, after ${WARM} warm-up requests; paths interleaved)`);
console.log(`function: ${Buffer.byteLength(code)} bytes, ${WINDOW.bypass.cidrs.length} ranges (IPv4 and IPv6), ${WINDOW.bypass.open_paths.length} open and ${WINDOW.api_paths.length} API paths, bypass secret${process.env.MAINT_FUNCTION_TEMPLATE ? `, template ${process.env.MAINT_FUNCTION_TEMPLATE}` : ''}\n`);
const FLOOR = ['floor', 'the loop, the store stand-in and one read, no function', ON, { uri: '/products/42', headers: BROWSER }, 'pass'];
const samples = new Map([...PATHS, FLOOR].map(([name]) => [name, []]));
const answers = new Map();
for (let r = 0; r < RUNS; r++) {
  for (const [name, , kvs, request] of [...PATHS, FLOOR]) {
    const out = run(name, kvs, makeEvent(request), name === 'floor');
    samples.get(name).push(out.us);
    answers.set(name, out.answer);
  }
}
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { us: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min_us: s[0], max_us: s[s.length - 1] };
};
const row = (name, r, answer, what) =>
  `${name.padEnd(15)} ${r.us.toFixed(1).padStart(7)} ${r.min_us.toFixed(1).padStart(7)} ${r.max_us.toFixed(1).padStart(7)}  ${answer.padEnd(30)} ${what}`;
console.log(`${'path'.padEnd(15)} ${'µs'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}  ${'answer'.padEnd(30)} what`);
const results = { njs: version, runs: RUNS, iterations: N, warm_up: WARM, bytes: Buffer.byteLength(code), target_us: TARGET_US, paths: {} };
let broken = false;
for (const [name, what, , , expected] of PATHS) {
  const r = stats(samples.get(name));
  const answer = answers.get(name);
  results.paths[name] = { what, ...r, answer };
  const wrong = answer !== expected;
  broken ||= wrong;
  console.log(row(name, r, answer, what) + (wrong ? `  WRONG ANSWER (expected ${expected})` : ''));
}
const floor = stats(samples.get('floor'));
results.floor_us = floor.us;
console.log(row('floor', floor, '', FLOOR[1]));
const [worst, w] = Object.entries(results.paths).reduce((a, b) => (b[1].us > a[1].us ? b : a));
results.worst = { path: worst, us: w.us };
results.met = w.us < TARGET_US;
console.log(`\nworst path: ${worst} (${w.what}), ${w.us.toFixed(1)} µs per request`);
console.log(`  ${results.met ? 'met ' : 'MISSED'}  every path under ${TARGET_US} µs per request on njs${opt.quick ? ' (quick mode: not judged)' : ''}`);
if (opt.json) writeFileSync(opt.json, JSON.stringify(results, null, 2) + '\n');
if (broken) {
  console.error('function-cost: a path got the wrong answer: its cost says nothing');
  process.exit(1);
}
