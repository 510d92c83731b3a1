#!/usr/bin/env node
// A single-page application in a real browser: Debian's headless Chromium,
// driven by playwright-core, with a demo card in its NSS database and an
// AutoSelectCertificateForUrls policy for cnsgate's card origin. The page
// (cmd/cnsgate/testdata/spa, served by the Go test on its own loopback
// origin) is a public client: it logs in with PKCE and calls discovery,
// /jwks, /token, /userinfo and /revoke with cross-origin fetches. Then a
// page on an origin no client registered probes the same endpoints, which
// the browser must keep from it.
//
// Run by TestSinglePageAppInChromium (cmd/cnsgate), which starts cnsgate
// and the pages and reads the JSON this prints last. Needs root (the
// policy file lives in /etc/chromium/policies/managed and is removed at the
// end), /usr/bin/chromium, certutil and pk12util (libnss3-tools), and
// `npm ci --prefix scripts/browser`.
//
// Environment: SPA (the page's origin), PROBE (the unregistered origin),
// CNS (cnsgate's card origin), HOME_DIR (a fresh HOME holding the NSS
// database with the card and the TLS CA), SHOTS (a directory for
// screenshots), CHROMIUM (default /usr/bin/chromium).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const { chromium } = require('playwright-core');

const env = process.env;
for (const k of ['SPA', 'PROBE', 'CNS', 'HOME_DIR', 'SHOTS']) {
  if (!env[k]) { console.error(`spa-cors: ${k} is not set`); process.exit(2); }
}
const policyDir = '/etc/chromium/policies/managed';
// Chromium takes a policy from the last file (by name) that sets it, so this
// file, named to come last, must not take the card origin of another
// browser test running at the same time (scripts/e2e-browser.mjs, another
// engineer's): it keeps every pattern the other files name and adds any
// localhost port, which is what those tests need too (each HOME holds one
// card only).
const policyFile = path.join(policyDir, `zz-cnsgate-spa-${new URL(env.CNS).port}.json`);
fs.mkdirSync(policyDir, { recursive: true });
const patterns = new Set([env.CNS, ...(env.POLICY_PATTERNS ?? 'https://localhost:* https://127.0.0.1:*').split(' ')]);
for (const f of fs.readdirSync(policyDir)) {
  if (!f.endsWith('.json') || path.join(policyDir, f) === policyFile) continue;
  try {
    const other = JSON.parse(fs.readFileSync(path.join(policyDir, f), 'utf8'));
    for (const p of other.AutoSelectCertificateForUrls ?? []) patterns.add(JSON.parse(p).pattern);
  } catch { /* not ours to judge */ }
}
fs.writeFileSync(policyFile, JSON.stringify({
  AutoSelectCertificateForUrls: [...patterns].filter(Boolean).map((pattern) => JSON.stringify({ pattern, filter: {} })),
}));
const cleanup = () => fs.rmSync(policyFile, { force: true });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { cleanup(); process.exit(130); });

let browser;
let page;
const result = async (p) => {
  await p.locator('#result[data-done="yes"]').waitFor({ timeout: 30_000 });
  return JSON.parse(await p.locator('#result').textContent());
};
try {
  browser = await chromium.launch({
    executablePath: env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    env: { ...env, HOME: env.HOME_DIR },
  });
  const context = await browser.newContext({ locale: 'it-IT' });
  context.setDefaultTimeout(15_000);
  page = await context.newPage();
  await page.goto(`${env.SPA}/`);
  await page.getByRole('button', { name: 'Entra con la tessera' }).click();
  // cnsgate's "Accedi con TS/CNS", then the card listener picks the card.
  await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
  await page.waitForURL((u) => u.origin === env.SPA && u.pathname === '/callback', { timeout: 30_000 });
  const flow = await result(page);
  await page.screenshot({ path: path.join(env.SHOTS, '1-spa-after-login.png') });
  await page.goto(`${env.PROBE}/probe`);
  const probe = await result(page);
  await page.screenshot({ path: path.join(env.SHOTS, '2-unregistered-origin.png') });
  console.log(JSON.stringify({ flow, probe }));
} catch (err) {
  if (page) {
    await page.screenshot({ path: path.join(env.SHOTS, 'failure.png') }).catch(() => {});
    console.error(`at ${page.url()}:\n${await page.content().catch(() => '')}`);
  }
  console.error(`spa-cors: ${err.stack ?? err}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  cleanup();
}
