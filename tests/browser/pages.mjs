// The maintenance pages in a real browser: headless Chromium (Debian's
// package) through playwright-core, at 320, 390 and 1280 pixels wide, in
// light and dark colour schemes. For each page (URLs in MAINT_PAGES, as
// `name=url,name=url`, served by `maint preview`): the answer is a 503, the
// title and message are visible, nothing overflows horizontally (a long
// unbroken URL in the message included), no console errors, no request
// leaves the page's own origin, and dark mode really changes the colours.
// Screenshots go to MAINT_SCREENSHOTS. Prints one JSON line per check run
// and exits non-zero on any failure.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(process.env.MAINT_BROWSER_MODULES + '/');
const { chromium } = require('playwright-core');

const pages = process.env.MAINT_PAGES.split(',').map((p) => p.split('=', 2));
const message = process.env.MAINT_MESSAGE;
const shots = process.env.MAINT_SCREENSHOTS;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.MAINT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const failures = [];
try {
  for (const [name, url] of pages) {
    const origin = new URL(url).origin;
    const backgrounds = {};
    for (const scheme of ['light', 'dark']) {
      for (const width of [320, 390, 1280]) {
        const context = await browser.newContext({ viewport: { width, height: 800 }, colorScheme: scheme });
        const page = await context.newPage();
        const errors = [];
        const outside = [];
        // The page itself answers 503 on purpose, and Chromium logs that as
        // a failed load of the document: that one is expected, no other.
        page.on('console', (m) => {
          const expected = m.text().includes('status of 503') && m.location().url === url;
          if (m.type() === 'error' && !expected) errors.push(`${m.text()} (${m.location().url})`);
        });
        page.on('pageerror', (e) => errors.push(String(e)));
        page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) outside.push(r.url()); });
        const response = await page.goto(url, { waitUntil: 'load' });
        const facts = await page.evaluate(() => {
          const box = (sel) => { const e = document.querySelector(sel); if (!e) return null; const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, width: r.width, height: r.height, text: e.textContent }; };
          return {
            lang: document.documentElement.lang,
            title: document.title,
            h1: box('h1'),
            p: box('main p'),
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
            background: getComputedStyle(document.body).backgroundColor,
          };
        });
        const file = join(shots, `${name}-${scheme}-${width}.png`);
        await page.screenshot({ path: file, fullPage: true });
        const checks = {
          status503: response.status() === 503,
          titleVisible: !!facts.h1 && facts.h1.height > 0 && facts.h1.left >= 0 && facts.h1.right <= facts.innerWidth,
          messageVisible: !!facts.p && facts.p.height > 0 && facts.p.text.includes(message.slice(0, 40)),
          noHorizontalOverflow: facts.scrollWidth <= facts.innerWidth && (!facts.p || facts.p.right <= facts.innerWidth),
          noConsoleErrors: errors.length === 0,
          noExternalRequests: outside.length === 0,
          lang: facts.lang === 'en',
        };
        backgrounds[scheme] = facts.background;
        const ok = Object.values(checks).every(Boolean);
        console.log(JSON.stringify({ name, scheme, width, ok, checks, status: response.status(), scrollWidth: facts.scrollWidth, errors, outside, screenshot: file }));
        if (!ok) failures.push(`${name} ${scheme} ${width}px: ${Object.entries(checks).filter(([, v]) => !v).map(([k]) => k).join(', ')}`);
        await context.close();
      }
    }
    if (backgrounds.light === backgrounds.dark) failures.push(`${name}: the dark scheme does not change the background (${backgrounds.light})`);
  }
} finally {
  await browser.close();
}
if (failures.length) {
  console.error('FAILED:\n' + failures.join('\n'));
  process.exit(1);
}
