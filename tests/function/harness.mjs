// Runs the window function as `maint function` renders it, on two engines:
//
// - njs (Debian's `njs`, the engine CloudFront Functions are built on), in a
//   child process per event, on the exact bytes maint printed, with
//   `import cf from 'cloudfront'` resolved to the stand-in in templates/cloudfront-module.js;
// - Node.js, in this process, on the same bytes (the import line is replaced
//   by the same stand-in, since Node cannot resolve that module).
//
// Every run goes through both and fails unless both give the same answer and
// read the same keys: Node accepts code CloudFront refuses, so Node alone
// proves nothing. A crash, a SyntaxError or a hang in njs fails the run,
// naming the event.
//
// Configs are written as a user writes them in maint.yaml (a `window:` block
// and template files) and rendered by the maint binary named in MAINT_BIN
// (tests/integration/function_runtime.rs sets it), once per distinct config.
//
// The binary holds the template it was built with (include_str!). With
// MAINT_FUNCTION_TEMPLATE=PATH (e.g. templates/window-function.js), the
// config the binary rendered (its `const C = {...};` line) is put into the
// template at PATH instead, so the suite tests a template being edited
// without a rebuild; the contract tests read that template too.
import { spawnSync, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual, inspect } from 'node:util';

export const TOKEN = '__MAINT_CONFIG__';
export const IMPORT_LINE = "import cf from 'cloudfront';";
export const TEMPLATE_PATH = process.env.MAINT_FUNCTION_TEMPLATE
  ? resolve(process.env.MAINT_FUNCTION_TEMPLATE)
  : new URL('../../templates/window-function.js', import.meta.url);
export const FUNCTION_CODE_LIMIT = 10240;
const STAND_IN = readFileSync(new URL('../../templates/cloudfront-module.js', import.meta.url), 'utf8');
const NJS = process.env.MAINT_NJS || 'njs';
const NJS_TIMEOUT_MS = 10_000;

const nodeRequire = createRequire(import.meta.url);
const work = mkdtempSync(join(tmpdir(), 'maint-function-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
// njs resolves `import cf from 'cloudfront'` to a file of that name on its path.
copyFileSync(new URL('../../templates/cloudfront-module.js', import.meta.url), join(work, 'cloudfront'));

export function readTemplate() {
  return readFileSync(TEMPLATE_PATH, 'utf8');
}

const rendered = new Map();
let renders = 0;

/**
 * The function maint renders for a `window:` block. `files` are written next
 * to maint.yaml (templates, relative to it). Returns the exact bytes printed.
 */
export function renderFunction(window, files = {}) {
  const key = JSON.stringify([window, files]);
  if (rendered.has(key)) return rendered.get(key);
  const bin = process.env.MAINT_BIN;
  if (!bin) throw new Error('MAINT_BIN must name the maint binary (cargo test sets it: see tests/integration/function_runtime.rs)');
  const dir = join(work, `config-${++renders}`);
  execFileSync('mkdir', ['-p', dir]);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const config = { environments: { shop: { region: 'eu-west-1', distribution: 'E2EXAMPLE12345', window } } };
  // JSON is YAML: no YAML writer needed.
  writeFileSync(join(dir, 'maint.yaml'), JSON.stringify(config, null, 2));
  let code = execFileSync(bin, ['--config', join(dir, 'maint.yaml'), '-q', 'function'], { encoding: 'utf8' });
  if (process.env.MAINT_FUNCTION_TEMPLATE) code = withTemplate(code, readTemplate());
  rendered.set(key, code);
  return code;
}

/**
 * `code` as rendered by maint, with its config literal put into `template`
 * instead of the template the binary was built with. maint writes the
 * literal as one line of JSON (newlines escaped), `const C = ...;`.
 */
export function withTemplate(code, template) {
  const line = code.split('\n').filter((l) => l.startsWith('const C = ') && l.endsWith(';'));
  if (line.length !== 1) throw new Error('the rendered function has no single `const C = ...;` line');
  const literal = line[0].slice('const C = '.length, -1);
  JSON.parse(literal); // it is the config, not code
  if (template.split(TOKEN).length !== 2) throw new Error(`the template at ${TEMPLATE_PATH} has no single ${TOKEN}`);
  return template.replace(TOKEN, () => literal);
}

/** The stand-in module, evaluated for Node with a private `globalThis`. */
function standIn(data) {
  const body = '"use strict";\n' + STAND_IN.replace('export default', 'return');
  // eslint-disable-next-line no-new-func
  return new Function('globalThis', body)({ __maint: data });
}

/** Loads `code` under Node with the stand-in runtime. */
function loadNode(code, data, now) {
  if (!code.includes(IMPORT_LINE)) throw new Error('the function code does not import the cloudfront module');
  const cf = standIn(data);
  // A fixed clock: Date.now() is `now`, and `new Date(x)` still works.
  const date = now === undefined ? Date : Object.assign(function FixedDate(...args) { return new Date(...args); }, { now: () => now * 1000 });
  // CloudFront Functions run in strict mode.
  const body = '"use strict";\n' + code.replace(IMPORT_LINE, '') + '\nreturn handler;';
  // eslint-disable-next-line no-new-func
  return new Function('cf', 'require', 'Date', body)(cf, nodeRequire, date);
}

/** What a run gave, in a form both engines can report. */
function outcome(res, request, reads) {
  return { passed: res === request, value: JSON.parse(JSON.stringify(res === undefined ? null : res)), reads };
}

const DRIVER = `
;(function () {
  var c = __CASE__;
  globalThis.__maint = { entries: c.kvs, reads: [], down: c.down };
  if (c.now !== null) Date.now = function () { return c.now * 1000; };
  handler(c.event).then(function (res) {
    console.log('MAINT_RESULT ' + JSON.stringify({ passed: res === c.event.request, value: res === undefined ? null : res, reads: globalThis.__maint.reads }));
  }, function (e) {
    console.log('MAINT_RESULT ' + JSON.stringify({ threw: String(e) }));
  });
})();
`;

let njsRuns = 0;

/** Runs `code` on `event` under njs, in a child process. */
function runNjs(code, { kvs, down, now, event }, what) {
  const file = join(work, `run-${++njsRuns}.js`);
  const payload = JSON.stringify({ kvs, down: !!down, now: now === undefined ? null : now, event });
  writeFileSync(file, code + '\n' + DRIVER.replace('__CASE__', () => payload));
  const run = spawnSync(NJS, ['-p', work, file], { encoding: 'utf8', timeout: NJS_TIMEOUT_MS });
  rmSync(file, { force: true });
  if (run.error && run.error.code === 'ENOENT') {
    throw new Error(`njs is not installed (${NJS}): the window function must run on CloudFront's engine. Run scripts/setup-njs (scripts/test does it)`);
  }
  const fail = (why) => new Error(`njs ${why} on ${what}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  if (run.error && run.error.code === 'ETIMEDOUT') throw fail(`did not finish within ${NJS_TIMEOUT_MS / 1000} s`);
  if (run.error) throw fail(`could not run (${run.error.message})`);
  if (run.signal) throw fail(`crashed with ${run.signal}`);
  if (run.status !== 0) throw fail(`exited with ${run.status}`);
  const line = run.stdout.split('\n').find((l) => l.startsWith('MAINT_RESULT '));
  if (!line) throw fail('gave no result');
  if (process.env.MAINT_NJS_RUNS_FILE) appendFileSync(process.env.MAINT_NJS_RUNS_FILE, 'run\n');
  return JSON.parse(line.slice('MAINT_RESULT '.length));
}

function describeEvent(event) {
  const r = event.request;
  const q = Object.keys(r.querystring || {});
  return `${r.method} ${r.uri}${q.length ? '?' + q.join('&') : ''} from ${event.viewer.ip}`;
}

/**
 * Runs the rendered function once on both engines.
 * kvs: the store's entries; down: the store fails every read; now: a fixed
 * clock (epoch seconds). Returns { res, event, sent, reads }: Node's answer,
 * the event it was given (the function may change its request), a copy of
 * the event as sent, and the keys read.
 */
export async function runBoth(code, { kvs = {}, down = false, now, event }) {
  const sent = structuredClone(event);
  const what = describeEvent(sent);
  const data = { entries: kvs, reads: [], down };
  let node;
  let res;
  try {
    res = await loadNode(code, data, now)(event);
    node = outcome(res, event.request, data.reads);
  } catch (e) {
    node = { threw: String(e) };
  }
  const njs = runNjs(code, { kvs, down, now, event: sent }, what);
  if (!isDeepStrictEqual(node, njs)) {
    throw new Error(`njs and Node differ on ${what}:\n  node: ${inspect(node, { depth: 8 })}\n  njs:  ${inspect(njs, { depth: 8 })}`);
  }
  if (node.threw) throw new Error(`the function threw on ${what}: ${node.threw}`);
  return { res, event, sent, reads: data.reads };
}

/**
 * A viewer-request event shaped like the AWS documentation's example
 * (version 1.0 with context, viewer and request).
 */
export function makeEvent({
  method = 'GET',
  uri = '/',
  querystring = {},
  headers = {},
  cookies = {},
  ip = '198.51.100.11',
} = {}) {
  const event = {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'EXAMPLEntjQpEXAMPLE_SG5Z-EXAMPLEPmPfEXAMPLEu3EqEXAMPLE==',
    },
    viewer: {},
    request: {
      method,
      uri,
      querystring,
      headers: {
        host: { value: 'www.example.com' },
        'user-agent': { value: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:83.0) Gecko/20100101 Firefox/83.0' },
        'accept-language': { value: 'en-GB,en;q=0.5' },
        'accept-encoding': { value: 'gzip, deflate, br' },
        ...headers,
      },
      cookies,
    },
  };
  if (ip !== undefined) event.viewer.ip = ip;
  return event;
}

/** The state value as the Rust side stores it under the `state` key. */
export function stateValue({ on = true, until = null, message = null, retryAfter = null } = {}) {
  return JSON.stringify({ on, until, message, retryAfter });
}

/** What the Rust side stores under `bypass` for a secret. */
export function bypassHash(secret) {
  return createHash('sha256').update('maint-bypass:' + secret, 'utf8').digest('hex');
}

/** The cookie value the function hands out for a stored hash. */
export function bypassToken(hash) {
  return createHmac('sha256', hash).update('maint-bypass-cookie').digest('hex');
}

export function htmlEscape(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** How many njs runs this process made (the Rust side checks none were skipped). */
export function njsRunCount() {
  return njsRuns;
}
