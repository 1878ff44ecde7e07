// maint window mode (cloudfront-js-2.0, viewer request): a 503 page while KVS
// "state" is on, but for open paths, allowed networks and bypass holders.
// CloudFront runs this on njs, not V8: `await` only as a whole statement (never
// in a call's arguments), no async closures, modules cloudfront and crypto
// only, listed built-ins only. Past its compute budget a request fails, so a
// path does only what it needs and regexes are built once, run by search()
// (a failing test() costs njs 10 times more: scripts/function-cost.mjs).
// Short names keep it far under the 10 KB code limit.
import cf from 'cloudfront';
const crypto = require('crypto');
const kvs = cf.kvs();
const C = __MAINT_CONFIG__;

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const re = p => new RegExp(p);
const OPEN = C.open.map(re), API = C.api.map(re), HTML = /[&<>"']/g, SLASHES = /^\/+/;
const DOTS = /(\/|\\|%2f|%5c)(\.|%2e){1,2}(;|\/|\\|%2f|%5c)/i, QV = /^\s*q\s*=\s*[\d.]+\s*$/;
const JT = /^application\/([\w.-]+\+)?json$/, QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, NOTHEX = /[^\da-f:]/i;
const hv = v => ({ value: v });
const all = o => o.multiValue || [o];
const any = (res, s) => res.some(x => s.search(x) >= 0);
const hex = (h, s) => h.update(s).digest('hex');
const mac = (k, s) => hex(crypto.createHmac('sha256', k), s);
const dec = s => { try { return decodeURIComponent(s); } catch (e) { return s; } };
// Queries come as sent: normalize escapes, keep '+'.
const enc = s => s.split('+').map(p => encodeURIComponent(dec(p))).join('+');
// Constant time in effect: HMACs under the stored hash, not the texts, compared.
const eq = (k, a, b) => mac(k, a) == mac(k, b);
// No dot segment, raw or escaped (`..;` too): an origin could resolve
// /webhooks/../admin to a path that is not open.
const plain = u => ('/' + u + '/').search(DOTS) < 0;
// JSON when the Accept header ranks a JSON type above HTML (q-values; a tie is HTML).
const wantsJson = a => {
  let j = 0, h = 0;
  if (a.indexOf('json') >= 0) a.split(',').forEach(t => {
    const f = t.split(';'), type = f[0].trim();
    let q = 1;
    f.slice(1).forEach(x => { if (!x.search(QV)) q = +x.split('=')[1]; });
    if (!type.search(JT)) j = Math.max(j, q);
    else if (type == 'text/html') h = Math.max(h, q);
  });
  return j > h;
};

// IPv6 text (a dotted quad last, too) -> eight 16-bit groups, or null.
const groups = s => {
  const i = s.lastIndexOf(':') + 1, t = s.slice(i);
  // A quad as a 32-bit number (-1: none) and, till it is put in, 0:0.
  const v = t.search(QUAD) ? -1 : t.split('.').reduce((n, x) => n < 0 || x > 255 ? -1 : n * 256 + +x, 0);
  if (v >= 0) s = s.slice(0, i) + '0:0';
  const h = s.split('::'), a = h[0] ? h[0].split(':') : [], b = h[1] ? h[1].split(':') : [];
  if (h.length == 2) { // '::' is one zero group or more
    do a.push('0');
    while (a.length + b.length < 8);
  }
  const g = a.concat(b).map(x => x && x.length < 5 ? parseInt(x, 16) : NaN);
  if (v >= 0) g.splice(6, 2, v >>> 16, v & 65535);
  return h.length < 3 && g.length == 8 && s.search(NOTHEX) < 0 && g.every(x => x >= 0) ? g : null;
};
// [net, n] holds what has net's first n bits: what a shift by the rest leaves.
const in6 = (g, net, n) => net.every((x, k) => !((x ^ g[k]) >> Math.min(16, Math.max(0, 16 * k + 16 - n))));
// IPv6 ranges hold IPv6 viewers; IPv4 ones, IPv4 and IPv4-mapped viewers.
const allowed = ip => {
  const six = ip.indexOf(':') >= 0, g = groups(six ? ip : '::ffff:' + ip), v = g && g[6] * 65536 + g[7];
  return !!g && (six && C.ipv6.some(c => in6(g, c[0], c[1])) ||
    !(g[0] | g[1] | g[2] | g[3] | g[4]) && g[5] == 65535 && C.ipv4.some(c => !(c[1] && (v ^ c[0]) >>> (32 - c[1]))));
};

async function handler(event) {
  const r = event.request, B = C.bypass, q = r.querystring;
  // The secret never reaches the origin (nor its logs), whatever the state.
  const p = B && q[B.param];
  if (p) delete q[B.param];
  let s, H;
  try {
    const raw = await kvs.get('state');
    s = JSON.parse(raw);
  } catch (e) {}
  if (!s || s.on !== true) return r;
  const left = typeof s.until == 'number' ? s.until - Date.now() / 1000 : NaN;
  if (left <= 0 || (any(OPEN, r.uri) && plain(r.uri)) || allowed('' + event.viewer.ip)) return r;

  if (B) {
    try {
      H = await kvs.get('bypass');
    } catch (e) {}
  }
  if (H) {
    // The token only for a link that gets it or a cookie that shows it.
    const T = () => mac(H, 'maint-bypass-cookie'), c = r.cookies[B.cookie];
    if (p && eq(H, hex(crypto.createHash('sha256'), 'maint-bypass:' + dec(p.value)), H)) {
      const rest = [], cookies = {};
      Object.keys(q).forEach(k => all(q[k]).forEach(v => rest.push(enc(k) + (v.value ? '=' + enc(v.value) : ''))));
      cookies[B.cookie] = { value: T(), attributes: 'Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=' + B.maxAge };
      const location = r.uri.replace(SLASHES, '/') + (rest.length ? '?' + rest.join('&') : '');
      return { statusCode: 302, statusDescription: 'Found', headers: { location: hv(location), 'cache-control': hv('no-store') }, cookies: cookies };
    }
    if (c && all(c).some(v => eq(H, v.value, T()))) return r;
  }

  const a = r.headers.accept;
  const json = any(API, r.uri) || (!!a && wantsJson(all(a).map(v => v.value).join().toLowerCase()));
  const msg = typeof s.message == 'string' && s.message ? s.message : C.message;
  const ra = s.retryAfter, retry = Math.ceil(left || (typeof ra == 'number' && ra > 0 ? ra : C.retryAfter));
  // A page that shows the window's end gets it inserted where it goes.
  // Its halves are joined with it, or with nothing: no string offset, which
  // njs (code points) and V8 (UTF-16 units) would count differently.
  const U = C.page.until, parts = C.page.html.slice();
  if (U) {
    const t = typeof s.until == 'number' ? new Date(s.until * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '';
    parts.splice(U[0], 2, parts[U[0]] + (t && U[1].split(U[2]).join(t)) + parts[U[0] + 1]);
  }
  const data = json ? C.page.json.join(JSON.stringify(msg)) : parts.join(msg.replace(HTML, x => ESC[x]));
  return {
    statusCode: 503, statusDescription: 'Service Unavailable', body: { encoding: 'text', data: data },
    headers: {
      'content-type': hv(json ? 'application/json' : 'text/html; charset=utf-8'),
      'cache-control': hv('no-store'),
      'retry-after': hv('' + retry)
    }
  };
}
