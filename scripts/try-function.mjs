// Runs a function rendered by `maint function` on sample viewer requests, on
// njs (CloudFront's engine) and Node with the same KeyValueStore stand-in its
// tests use (the two must agree), and prints what each visitor would get. The
// local emulator cannot execute CloudFront Functions; this shows their
// behaviour without AWS.
//
// Usage: node scripts/try-function.mjs FUNCTION.js STATE_JSON [SECRET]
import { readFileSync } from 'node:fs';
import { bypassHash, makeEvent, runBoth } from '../tests/function/harness.mjs';

const [file, state, secret] = process.argv.slice(2);
const kvs = { state };
if (secret) kvs.bypass = bypassHash(secret);
const code = readFileSync(file, 'utf8');

const html = { accept: { value: 'text/html,application/xhtml+xml' } };
const cases = [
  ['a visitor', makeEvent({ uri: '/products/42', headers: html })],
  ['an API client', makeEvent({ method: 'POST', uri: '/api/orders', headers: { accept: { value: 'application/json' } } })],
  ['the office (203.0.113.7)', makeEvent({ uri: '/', ip: '203.0.113.7', headers: html })],
  ['the health check', makeEvent({ uri: '/health' })],
];
if (secret) {
  cases.push(['a teammate with ?maint-bypass=SECRET', makeEvent({ uri: '/cart', querystring: { 'maint-bypass': { value: secret }, step: { value: '2' } } })]);
}
for (const [who, event] of cases) {
  const { res: r, event: seen, sent } = await runBoth(code, { kvs, event });
  const req = sent.request;
  if (r === seen.request) {
    console.log(`${req.method} ${req.uri} from ${who} -> passes to the origin`);
  } else if (r.statusCode === 302) {
    const cookie = Object.keys(r.cookies)[0];
    console.log(`${req.method} ${req.uri} from ${who} -> 302 to ${r.headers.location.value}, sets cookie ${cookie} (${r.cookies[cookie].attributes})`);
  } else {
    const body = r.body.data;
    const shown = r.headers['content-type'].value.startsWith('application/json')
      ? body.replace(/\s+/g, ' ')
      : (body.match(/<p>([^<]*)<\/p>/) || [, body.slice(0, 80)])[1];
    console.log(`${req.method} ${req.uri} from ${who} -> ${r.statusCode}, ${r.headers['content-type'].value}, Retry-After ${r.headers['retry-after'].value}, Cache-Control ${r.headers['cache-control'].value}`);
    console.log(`    ${shown}`);
  }
}
