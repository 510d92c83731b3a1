#!/usr/bin/env node
// The security team's console, checked in a real browser: Debian's headless
// Chromium (playwright-core) with a demo card in its NSS database, against
// `cnsgate demo --console` on free loopback ports of its own (or
// CNSGATE_CONSOLE_PUBLIC, _CNS, _ADMIN, _ESENZIONI, _CMS, _CONSOLE).
//
// A citizen logs in to Esenzioni (a relying party with back-channel logout).
// The citizen, then the ASL operator (no role security), are refused at the
// console's login by the card login's own page. The security team's card
// (role security) logs in; the charts are drawn (inline SVG with a data
// table), the CRLs' state is shown, an audit search finds the citizen's
// login and offers its CSV export, and "Termina la sessione" on the
// citizen's page ends the citizen's session: Esenzioni is told (the audit
// event logout_notification, success, client esenzioni). Every console page,
// in Italian and English, at 320, 375 and 1280 px: no horizontal scrolling,
// zero axe-core violations of WCAG 2.1 A and AA, nothing refused by its
// Content-Security-Policy.
//
// Needs: root (the certificate policy in /etc/chromium/policies/managed,
// removed at the end), /usr/bin/chromium, certutil and pk12util
// (libnss3-tools), openssl, and `npm ci --prefix scripts/browser`.
//
// Usage: node scripts/e2e-console.mjs [path/to/cnsgate]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busy, listenAddrs } from './browser/listen.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const shotsDir = '';
const bin = path.resolve(args[0] ?? path.join(repo, 'bin/cnsgate'));
const artifacts = path.join(repo, 'testresults', 'e2e-console');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const policyDir = '/etc/chromium/policies/managed';
const policyFile = path.join(policyDir, 'cnsgate-e2e-console.json');
const HOST = '127.0.0.1';
const addrs = await listenAddrs(['public', 'cns', 'admin', 'esenzioni', 'cms', 'console'], 'CNSGATE_CONSOLE_', () => HOST, die);
const ports = Object.fromEntries(Object.entries(addrs).map(([k, a]) => [k, Number(a.slice(a.lastIndexOf(':') + 1))]));
const PUBLIC = `https://${HOST}:${ports.public}`;
const CNS = `https://${HOST}:${ports.cns}`;
const ESENZIONI = `https://${HOST}:${ports.esenzioni}`;
const CONSOLE = `https://${HOST}:${ports.console}`;
const WIDTHS = [320, 375, 1280];
const SHOT_WIDTHS = [];
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const P12_PASSWORD = 'console';

function die(msg) {
  console.error(`e2e-console: ${msg}`);
  process.exit(2);
}

// ---- preconditions, each failing with what to do -------------------------

function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const require = createRequire(path.join(repo, 'scripts/browser/package.json'));
let chromium;
let axeSource;
try {
  ({ chromium } = require('playwright-core'));
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch {
  die('playwright-core or axe-core is not installed: run `npm ci --prefix scripts/browser`');
}
if (!fs.existsSync(bin)) die(`no cnsgate binary at ${bin}: run \`make build\``);
if (!fs.existsSync(chromiumPath)) die(`no Chromium at ${chromiumPath}: apt-get install -y chromium libnss3-tools`);
for (const cmd of ['certutil', 'pk12util', 'openssl']) if (!have(cmd)) die(`${cmd} is missing: apt-get install -y libnss3-tools openssl`);
// The screenshots kept in the repository are made small with pngquant.
if (shotsDir && !have('pngquant')) die('pngquant is missing (it makes the kept screenshots small): apt-get install -y pngquant');
try {
  fs.mkdirSync(policyDir, { recursive: true });
  fs.accessSync(policyDir, fs.constants.W_OK);
} catch {
  die(`cannot write ${policyDir} (the certificate auto-selection policy): run as root`);
}

for (const [name, port] of Object.entries(ports)) {
  const why = await busy(port);
  if (why) die(`port ${port} (${name}) is not free: ${why}. Stop whatever uses it and retry.`);
}

// ---- the demo, the cards, the browsers ------------------------------------

fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });
if (shotsDir) fs.mkdirSync(shotsDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cnsgate-e2e-console-'));
let demo;
let demoExit;
const browsers = [];

function cleanup() {
  try { fs.rmSync(policyFile, { force: true }); } catch { /* reported below if it stays */ }
  if (demo && demo.exitCode === null && demo.signalCode === null) demo.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    for (const b of browsers) await b.close().catch(() => {});
    cleanup();
    process.exit(130);
  });
}

// startDemo runs `cnsgate demo` in a fresh directory, in UTC (the pages
// must show Europe/Rome whatever the server's zone), with extra
// environment (the CNSGATE_* overlay).
async function startDemo(name, env = {}, flags = []) {
  const dir = path.join(work, name);
  const log = (s) => path.join(artifacts, `cnsgate-${name}.${s}.log`);
  const out = fs.openSync(log('stdout'), 'w');
  const err = fs.openSync(log('stderr'), 'w');
  demo = spawn(bin, ['demo', '--dir', dir, '--public', `${HOST}:${ports.public}`, '--cns', `${HOST}:${ports.cns}`,
    '--admin', `${HOST}:${ports.admin}`, '--esenzioni', `${HOST}:${ports.esenzioni}`, '--cms', `${HOST}:${ports.cms}`, '--console', `${HOST}:${ports.console}`, ...flags],
  { stdio: ['ignore', out, err], env: { ...process.env, TZ: 'UTC', ...env } });
  demoExit = new Promise((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (fs.readFileSync(log('stdout'), 'utf8').includes('Press Ctrl-C to stop.')) return dir;
    if (demo.exitCode !== null || demo.signalCode !== null) throw new Error(`cnsgate demo exited:\n${fs.readFileSync(log('stderr'), 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('cnsgate demo printed no banner in 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stopDemo() {
  demo.kill('SIGINT');
  const result = await Promise.race([demoExit, new Promise((r) => setTimeout(() => r(null), 30_000))]);
  if (!result || result.code !== 0) throw new Error(`cnsgate demo did not stop cleanly: ${JSON.stringify(result)}`);
}

// profile makes a HOME whose NSS database trusts the demo TLS CA and holds
// one certificate (a demo card, or another PEM pair), the only one the
// policy can pick.
let profiles = 0;
function profile(demoDir, name, certFile, keyFile) {
  profiles += 1;
  const home = path.join(work, `home-${profiles}-${name}`);
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] }; // never waits for a password on stdin
  execFileSync('certutil', ['-d', db, '-N', '--empty-password'], quiet);
  execFileSync('certutil', ['-d', db, '-A', '-n', 'cnsgate demo TLS CA', '-t', 'C,,', '-i', path.join(demoDir, 'tls', 'ca.crt')], quiet);
  if (certFile) {
    const p12 = path.join(work, `${name}.p12`);
    execFileSync('openssl', ['pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-name', `cnsgate console ${name}`,
      '-out', p12, '-passout', `pass:${P12_PASSWORD}`], quiet);
    execFileSync('pk12util', ['-d', db, '-i', p12, '-W', P12_PASSWORD], quiet);
  }
  return home;
}

function card(demoDir, name) {
  const c = path.join(demoDir, 'cards');
  return profile(demoDir, name, path.join(c, `${name}-fullchain.crt`), path.join(c, `${name}.key`));
}

// foreignCard is a certificate no CA of cnsgate's trust store issued: what a
// citizen presents who picks the wrong certificate.
function foreignCard(demoDir) {
  const f = (n) => path.join(work, n);
  const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'),
    '-days', '30', '-subj', '/C=IT/O=Altro ente/CN=Altro ente CA'], quiet);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('foreign.key'), '-out', f('foreign.csr'),
    '-subj', '/C=IT/O=Altro ente/CN=RSSMRA85T10A562S'], quiet);
  fs.writeFileSync(f('foreign.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
  execFileSync('openssl', ['x509', '-req', '-in', f('foreign.csr'), '-CA', f('other-ca.crt'), '-CAkey', f('other-ca.key'),
    '-CAcreateserial', '-days', '30', '-extfile', f('foreign.ext'), '-out', f('foreign.crt')], quiet);
  fs.writeFileSync(f('foreign-fullchain.crt'), fs.readFileSync(f('foreign.crt'), 'utf8') + fs.readFileSync(f('other-ca.crt'), 'utf8'));
  return profile(demoDir, 'foreign', f('foreign-fullchain.crt'), f('foreign.key'));
}

async function launch(home, lang) {
  fs.writeFileSync(policyFile, JSON.stringify({ AutoSelectCertificateForUrls: [JSON.stringify({ pattern: CNS, filter: {} })] }));
  const b = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    env: { ...process.env, HOME: home },
  });
  browsers.push(b);
  const ctx = await b.newContext({ locale: lang === 'it' ? 'it-IT' : 'en-GB', viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(15_000);
  const p = await ctx.newPage();
  p.cspViolations = [];
  p.on('console', (m) => { if (m.text().includes('Content Security Policy')) p.cspViolations.push(m.text().slice(0, 200)); });
  return { b, p };
}

// ---- the checks --------------------------------------------------------------

let passed = 0;
let failed = 0;
const pagesSeen = new Set();

function ok(name) { passed += 1; console.log(`ok   ${name}`); }
function fail(name, err) { failed += 1; console.log(`FAIL ${name}: ${String(err.message ?? err).split('\n').slice(0, 12).join('\n     ')}`); }

// look checks the page on screen at every width: no horizontal overflow, no
// axe-core violation, no refused resource, the page's language.
async function look(p, lang, name) {
  const label = `${lang} ${name}`;
  pagesSeen.add(name);
  try {
    const htmlLang = await p.evaluate(() => document.documentElement.lang);
    if (htmlLang !== lang) throw new Error(`<html lang="${htmlLang}">, want ${lang}`);
    const problems = [];
    for (const width of WIDTHS) {
      await p.setViewportSize({ width, height: 800 });
      await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const wide = await p.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
      if (wide > width) problems.push(`${width} px: the page is ${wide} px wide`);
      await p.evaluate(axeSource);
      const res = await p.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), AXE_TAGS);
      for (const v of res.violations) {
        problems.push(`${width} px: axe ${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
      }
      const file = `${lang}-${name}-${width}.png`;
      await p.screenshot({ path: path.join(artifacts, file), fullPage: true });
      if (shotsDir && lang === 'it' && SHOT_WIDTHS.includes(width)) fs.copyFileSync(path.join(artifacts, file), path.join(shotsDir, `${name}-${width}.png`));
    }
    if (p.cspViolations.length) problems.push(`Content-Security-Policy refused: ${p.cspViolations.join(' | ')}`);
    p.cspViolations.length = 0;
    await p.setViewportSize({ width: 1280, height: 800 });
    if (problems.length) throw new Error(problems.join('\n'));
    ok(`${label}: ${WIDTHS.join('/')} px fit, 0 axe violations`);
  } catch (err) {
    fail(label, err);
  }
}

async function step(label, fn) {
  try {
    await fn();
    ok(label);
    return true;
  } catch (err) {
    fail(label, err);
    return false;
  }
}

async function text(p, s) { await p.getByText(s, { exact: false }).first().waitFor({ state: 'visible' }); }

const C = {
  it: { button: 'Accedi con la carta operatore', cont: 'Continua', denied: 'Accesso non consentito', charts: 'Accessi nelle ultime 24 ore per esito',
    crl: 'Liste di revoca (CRL) per ente', search: 'Cerca', found: 'eventi trovati', exportCSV: 'Esporta in CSV', end: 'Termina la sessione', ended: 'Sessione terminata', fiscal: 'Codice fiscale' },
  en: { button: 'Log in with the operator card', cont: 'Continue', denied: 'Access not allowed', charts: 'Logins in the last 24 hours by outcome',
    crl: 'Revocation lists (CRL) by issuer', search: 'Search', found: 'events found', exportCSV: 'Export as CSV', end: 'End session', ended: 'Session ended', fiscal: 'Fiscal code' },
};

// esenzioniLogin logs the citizen in to Esenzioni (registered: no page
// between the card and the service).
const cardLink = (lang) => (lang === 'it' ? 'Accedi con TS/CNS' : 'Log in with TS/CNS');

async function esenzioniLogin(p, lang) {
  await p.goto(`${ESENZIONI}/`);
  await p.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
  await p.waitForURL((u) => u.origin === PUBLIC);
  await p.getByRole('link', { name: cardLink(lang) }).click();
  await p.waitForURL(`${ESENZIONI}/`);
}

// consoleLogin goes from the console's login page through the card login;
// it leaves the browser where the login ends.
async function consoleLogin(p, lang) {
  await p.goto(`${CONSOLE}/?lang=${lang}`);
  await p.getByRole('link', { name: C[lang].button }).click();
  await p.waitForURL((u) => u.origin === PUBLIC);
  // With a live session of cnsgate (the citizen's) the login service answers
  // at once; otherwise its login page leads to the card.
  const link = p.getByRole('link', { name: cardLink(lang) });
  if (await link.count()) await link.click();
  await p.waitForLoadState('load');
}

function auditQuery(dir, kind) {
  const out = execFileSync(bin, ['audit', 'query', '--config', path.join(dir, 'config.yaml'), '--kind', kind, '--since', '1h'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function waitFor(what, fn) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (fn()) return;
    if (Date.now() > deadline) throw new Error(`no ${what} within 15 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function run(lang) {
  const t = C[lang];
  const dir = await startDemo(`demo-${lang}`, { CNSGATE_LOGIN_CONFIRM_RELEASE: 'false' });
  const citizenCF = JSON.parse(execFileSync(bin, ['inspect', '--trust', path.join(dir, 'trust'), path.join(dir, 'cards', 'citizen.crt')], { encoding: 'utf8' })).fiscal_code;

  const citizen = await launch(card(dir, 'citizen'), lang);
  await esenzioniLogin(citizen.p, lang);
  await consoleLogin(citizen.p, lang);
  await step(`${lang} a citizen is refused at the console: "${t.denied}"`, () => text(citizen.p, t.denied));
  await citizen.b.close();
  const asl = await launch(card(dir, 'operator'), lang);
  await consoleLogin(asl.p, lang);
  await step(`${lang} an operator without the role security is refused: "${t.denied}"`, () => text(asl.p, t.denied));
  await asl.b.close();

  const { p } = await launch(card(dir, 'security'), lang);
  await p.goto(`${CONSOLE}/?lang=${lang}`);
  await look(p, lang, 'console-login');
  await consoleLogin(p, lang);
  await p.waitForURL((u) => u.origin === CONSOLE && u.pathname === '/callback');
  await p.getByRole('link', { name: t.cont }).click();
  await step(`${lang} the dashboard draws its charts: "${t.charts}"`, async () => {
    await text(p, t.charts);
    const n = await p.locator('svg[role="img"]').count();
    if (n !== 5) throw new Error(`${n} charts, want 5`);
    const bars = await p.locator('svg[role="img"] rect').count();
    if (bars < 3) throw new Error(`${bars} bars drawn`);
  });
  await look(p, lang, 'console-dashboard');
  await p.goto(`${CONSOLE}/revocation?lang=${lang}`);
  await step(`${lang} the CRLs' state`, () => text(p, 'Regione Demo - CA Cittadini'));
  await look(p, lang, 'console-revocation');
  await p.goto(`${CONSOLE}/audit?lang=${lang}`);
  await look(p, lang, 'console-audit-form');
  await p.getByLabel(t.fiscal).fill(citizenCF);
  await p.getByRole('button', { name: t.search }).click();
  await step(`${lang} an audit search finds the citizen's events and offers "${t.exportCSV}"`, async () => {
    await text(p, t.found);
    const href = await p.getByRole('link', { name: t.exportCSV }).getAttribute('href');
    if (!href?.startsWith('/audit.csv?')) throw new Error(`the export link is ${href}`);
  });
  await look(p, lang, 'console-audit-results');
  await p.goto(`${CONSOLE}/citizen?fiscal_code=${citizenCF}&lang=${lang}`);
  await look(p, lang, 'console-citizen');
  const before = auditQuery(dir, 'logout_notification').length;
  await p.getByRole('button', { name: t.end }).first().click();
  await step(`${lang} "${t.end}": the session ends and Esenzioni is told`, async () => {
    await text(p, t.ended);
    await waitFor('logout_notification to esenzioni', () => auditQuery(dir, 'logout_notification')
      .filter((e) => e.client === 'esenzioni' && e.outcome === 'success').length > before);
  });
  await look(p, lang, 'console-citizen-ended');
  await stopDemo();
}

try {
  for (const lang of ['it', 'en']) {
    try {
      await run(lang);
    } catch (err) {
      for (const b of browsers) {
        for (const c of b.contexts()) {
          for (const pg of c.pages()) {
            const f = path.join(artifacts, `${lang}-failure-${browsers.indexOf(b)}.png`);
            await pg.screenshot({ path: f, fullPage: true }).catch(() => {});
            console.log(`     at ${pg.url()} (screenshot ${path.relative(repo, f)})`);
          }
        }
      }
      fail(`${lang} console`, err);
      if (demo && demo.exitCode === null) await stopDemo().catch(() => {});
    }
    for (const b of browsers.splice(0)) await b.close().catch(() => {});
  }
} finally {
  for (const b of browsers) await b.close().catch(() => {});
  cleanup();
  if (fs.existsSync(policyFile)) {
    failed += 1;
    console.log(`FAIL the policy file ${policyFile} could not be removed`);
  }
}
console.log(`pages: ${[...pagesSeen].join(', ')}`);
console.log(`screenshots and logs: ${path.relative(process.cwd(), artifacts) || artifacts}`);
console.log(`e2e-console: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
