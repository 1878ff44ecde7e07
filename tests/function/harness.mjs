// A small stand-in for the CloudFront Functions runtime (cloudfront-js-2.0),
// enough to run templates/window-function.js under Node's test runner.
//
// - The `import cf from 'cloudfront';` line is stripped and `cf` is supplied:
//   cf.kvs() returns a store backed by a Map whose get() rejects for a
//   missing key, as the real KeyValueStore helper does.
// - `require` comes from createRequire (the function only asks for 'crypto').
// - `Date` can be replaced by a fixed clock (the runtime's Date also returns
//   one value, the start time, for a whole run).
// - The code runs in strict mode, like every CloudFront Function.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash, createHmac } from 'node:crypto';

export const TOKEN = '__MAINT_CONFIG__';
export const IMPORT_LINE = "import cf from 'cloudfront';";
export const TEMPLATE_PATH = new URL('../../templates/window-function.js', import.meta.url);
export const FUNCTION_CODE_LIMIT = 10240;

const nodeRequire = createRequire(import.meta.url);

export function readTemplate() {
  return readFileSync(TEMPLATE_PATH, 'utf8');
}

/** The template with the token replaced by the config as a JSON literal. */
export function render(config, template = readTemplate()) {
  // split/join: a replacement string would interpret `$&` and friends.
  return template.split(TOKEN).join(JSON.stringify(config));
}

/** A stand-in for the KeyValueStore handle returned by cf.kvs(). */
export class FakeKvs {
  constructor(entries = {}) {
    this.map = new Map(Object.entries(entries));
    this.reads = [];
  }
  async get(key, options = {}) {
    this.reads.push(key);
    if (!this.map.has(key)) throw new Error(`KeyValueStore: key not found: ${key}`);
    const value = this.map.get(key);
    const format = options.format || 'string';
    if (format === 'json') return JSON.parse(value);
    if (format === 'bytes') return Buffer.from(value, 'utf8');
    if (format !== 'string') throw new Error(`KeyValueStore: unknown format ${format}`);
    return value;
  }
  async exists(key) {
    return this.map.has(key);
  }
}

/** A Date stand-in whose now() is fixed (seconds since the epoch). */
export function fixedDate(epochSeconds) {
  return { now: () => epochSeconds * 1000 };
}

/**
 * Evaluates rendered function code with the stand-in runtime.
 * Returns { handler, kvs }.
 */
export function load(code, { kvs = {}, date = Date } = {}) {
  if (!code.includes(IMPORT_LINE)) throw new Error('the function code does not import the cloudfront module');
  const store = kvs instanceof FakeKvs ? kvs : new FakeKvs(kvs);
  const cf = { kvs: () => store };
  const body = '"use strict";\n' + code.replace(IMPORT_LINE, '') + '\nreturn handler;';
  // eslint-disable-next-line no-new-func
  const handler = new Function('cf', 'require', 'Date', body)(cf, nodeRequire, date);
  return { handler, kvs: store };
}

/** Renders the template with `config`, then loads it. */
export function loadTemplate(config, options) {
  return load(render(config), options);
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

/** Test-side helpers to build config entries. */
export function ipv4Net(cidr) {
  const [addr, len] = cidr.split('/');
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return [n, Number(len)];
}

export function ipv6Net(groups, len) {
  return [groups, len];
}
