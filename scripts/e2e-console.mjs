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
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AXE_WCAG21AA, createHarness } from './browser/harness.mjs';
import { listenAddrs, originsOf, portsOf } from './browser/listen.mjs';
import { browserTools, policyDir, portsFree } from './browser/preconditions.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const bin = path.resolve(args[0] ?? path.join(repo, 'bin/cnsgate'));
const artifacts = path.join(repo, 'testresults', 'e2e-console');
const policyFile = path.join(policyDir, 'cnsgate-e2e-console.json');
const HOST = '127.0.0.1';
const addrs = await listenAddrs(['public', 'cns', 'admin', 'esenzioni', 'cms', 'console'], 'CNSGATE_CONSOLE_', () => HOST, die);
const ports = portsOf(addrs);
const { public: PUBLIC, cns: CNS, esenzioni: ESENZIONI, console: CONSOLE } = originsOf(addrs);
const WIDTHS = [320, 375, 1280];
const P12_PASSWORD = 'console';

function die(msg) {
  console.error(`e2e-console: ${msg}`);
  process.exit(2);
}

// ---- preconditions, each failing with what to do -------------------------

const { chromium, axeSource } = browserTools({ bin, axe: true, commands: ['certutil', 'pk12util', 'openssl'], fail: die });
await portsFree(ports, die);

// ---- the demo, the cards, the browsers, the checks ------------------------

// Every demo runs in UTC: the pages must show Europe/Rome whatever the
// server's zone.
const h = createHarness({
  name: 'e2e-console', bin, chromium, axeSource, artifacts, policyFile, addrs, demoEnv: { TZ: 'UTC' },
  cns: CNS, p12Password: P12_PASSWORD, widths: WIDTHS, axeTags: AXE_WCAG21AA,
});
const { startDemo, stopDemo, card, launch, step, text, look } = h;

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

// failureShots keeps a screenshot of every page still open when a run
// fails, and says where it was.
async function failureShots(lang) {
  for (const [i, b] of h.browsers.entries()) {
    for (const c of b.contexts()) {
      for (const pg of c.pages()) {
        const f = path.join(artifacts, `${lang}-failure-${i}.png`);
        await pg.screenshot({ path: f, fullPage: true }).catch(() => {});
        console.log(`     at ${pg.url()} (screenshot ${path.relative(repo, f)})`);
      }
    }
  }
}

async function run(lang) {
  const t = C[lang];
  const dir = await startDemo(`demo-${lang}`, { CNSGATE_LOGIN_CONFIRM_RELEASE: 'false' });
  const citizenCF = h.fiscalCode(dir, 'citizen');

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
  for (const lang of ['it', 'en']) await h.attempt(`${lang} console`, () => run(lang), () => failureShots(lang));
} finally {
  await h.close();
}
h.report();
