#!/usr/bin/env node
// Every page a citizen can reach, checked in a real browser: Debian's
// headless Chromium (playwright-core) with the demo cards in its NSS
// database, against `cnsgate demo` on free loopback ports of its own (or
// CNSGATE_PAGES_PUBLIC, _CNS, _ADMIN, _ESENZIONI, _CMS), with a policy file
// of its own.
//
// In Italian and in English, each page is looked at 320, 375 and 1280 px
// wide and must not be wider than the window (no horizontal scrolling), must
// have zero axe-core violations of WCAG 2.1 A and AA, and must load nothing
// its Content-Security-Policy refuses. The pages: cnsgate's home, its login
// page reached from a service (OIDC and SAML), "Registra TS-CNS", the
// registration done, a refused registration (forged form token), the
// welcome page with "Ultimi accessi" (which must not list the card's visit
// before its registration, and must show times in Europe/Rome while the
// server runs in UTC), "Vuoi uscire?" with "Annulla", the logged-out page,
// the expired handoff link, the 404 page of both origins, the refusals
// (revoked card, no certificate, an expired card, which Chromium does not
// offer and so reads as no certificate, a certificate of an unknown issuer,
// a fiscal code not enabled under registration.mode: allowlist), the
// data-release page (login.confirm_release, on by default: also on the
// first visit to Esenzioni after the registration), the registration form
// sent without consent, "La mia tessera" with its confirm steps and the
// page after "Revoca il consenso", and the
// pages of the example relying parties (Esenzioni, CMS). Keyboard: the first
// Tab reaches "Vai al contenuto principale".
//
// Screenshots of every page go to testresults/e2e-pages/; with
// --screenshots DIR (make screenshots) the Italian ones at 375 and 1280 px
// are also written to DIR (docs/screenshots, shown in README), reduced with
// pngquant.
//
// Needs: root (the certificate policy lives in /etc/chromium/policies/managed
// and is removed at the end), /usr/bin/chromium, certutil and pk12util
// (libnss3-tools), openssl, and `npm ci --prefix scripts/browser`.
//
// Usage: node scripts/e2e-pages.mjs [--screenshots DIR] [path/to/cnsgate]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenAddrs, originsOf, portsOf } from './browser/listen.mjs';
import { AXE_WCAG21AA, createHarness } from './browser/harness.mjs';
import { browserTools, policyDir, portsFree } from './browser/preconditions.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let shotsDir = '';
if (args[0] === '--screenshots') {
  shotsDir = path.resolve(args[1] ?? die('--screenshots needs a directory'));
  args.splice(0, 2);
}
const bin = path.resolve(args[0] ?? path.join(repo, 'bin/cnsgate'));
const artifacts = path.join(repo, 'testresults', 'e2e-pages');
const policyFile = path.join(policyDir, 'cnsgate-e2e-pages.json');
const HOST = '127.0.0.1';
// Free loopback ports below the ephemeral range, or CNSGATE_PAGES_PUBLIC,
// _CNS, _ADMIN, _ESENZIONI and _CMS (host:port; the host must be 127.0.0.1).
const addrs = await listenAddrs(['public', 'cns', 'admin', 'esenzioni', 'cms'], 'CNSGATE_PAGES_', () => HOST, die);
const ports = portsOf(addrs);
const { public: PUBLIC, cns: CNS, esenzioni: ESENZIONI, cms: CMS } = originsOf(addrs);
const WIDTHS = [320, 375, 1280];
const SHOT_WIDTHS = [375, 1280];
const P12_PASSWORD = 'pages';

function die(msg) {
  console.error(`e2e-pages: ${msg}`);
  process.exit(2);
}

// ---- preconditions, each failing with what to do -------------------------

// The screenshots kept in the repository are made small with pngquant.
const { chromium, axeSource } = browserTools({
  bin, axe: true, commands: ['certutil', 'pk12util', 'openssl', ...(shotsDir ? ['pngquant'] : [])], fail: die,
});
await portsFree(ports, die);

// ---- the demo, the cards, the browsers, the checks ------------------------

// Every demo runs in UTC: the pages must show Europe/Rome whatever the
// server's zone.
const h = createHarness({
  name: 'e2e-pages', bin, chromium, axeSource, artifacts, policyFile, addrs, demoFlags: ['--console', 'off'], demoEnv: { TZ: 'UTC' },
  cns: CNS, p12Password: P12_PASSWORD, widths: WIDTHS, axeTags: AXE_WCAG21AA, shotsDir, shotWidths: SHOT_WIDTHS,
});
const { startDemo, stopDemo, profile, card, foreignCard, launch, step, text, look } = h;

const T = {
  it: {
    login: 'Accedi con TS/CNS', register: 'Registra TS-CNS', registerTitle: 'Registra TS-CNS', consent: 'Acconsento', cont: 'Continua', logout: 'Esci',
    cancel: 'Annulla', denied: 'Accesso non consentito', logoutTitle: 'Vuoi uscire?', welcome: 'Ti diamo il benvenuto', loggedOut: 'Hai chiuso la sessione',
    notFound: 'Pagina non trovata', expiredLink: 'è scaduto', skip: 'Vai al contenuto principale', privacy: 'informativa',
    noCert: 'non propone il certificato di una tessera scaduta', revoked: 'revocato', unknownIssuer: 'non è quello di una tessera accettata',
    notEligible: 'Per chiedere l\'abilitazione', loggingIn: 'Stai accedendo a', backToService: 'Annulla e torna al servizio', csrf: 'non è valida o è scaduta', accesses: 'Ultimi accessi', failedAccess: 'non riuscito',
    account: 'La mia tessera', removeCard: 'Rimuovi questa tessera', removeTitle: 'Rimuovere la tessera?', withdraw: 'Revoca il consenso',
    withdrawTitle: 'Revocare il consenso?', withdrawn: 'Consenso revocato', noConsent: 'è necessario dare il consenso', history: 'I miei accessi',
  },
  en: {
    login: 'Log in with TS/CNS', register: 'Register TS-CNS', registerTitle: 'Register your TS-CNS', consent: 'I consent', cont: 'Continue', logout: 'Log out',
    cancel: 'Cancel', denied: 'Access not allowed', logoutTitle: 'Log out?', welcome: 'Welcome', loggedOut: 'You are logged out',
    notFound: 'Page not found', expiredLink: 'has expired', skip: 'Skip to the main content', privacy: 'privacy notice',
    noCert: 'do not offer the certificate of an expired card', revoked: 'revoked', unknownIssuer: 'is not one of a card this service accepts',
    notEligible: 'To be enabled', loggingIn: 'You are logging in to', backToService: 'Cancel and go back to the service', csrf: 'not valid or has expired', accesses: 'Recent accesses', failedAccess: 'failed',
    account: 'My card', removeCard: 'Remove this card', removeTitle: 'Remove the card?', withdraw: 'Withdraw consent',
    withdrawTitle: 'Withdraw your consent?', withdrawn: 'Consent withdrawn', noConsent: 'Your consent is needed', history: 'My accesses',
  },
};

// consent ticks the box the way a citizen does, on its label (Bootstrap
// Italia draws the box there), and checks that it took.
async function consent(p, t) {
  await p.locator('label[for=consent]').click();
  if (!(await p.getByLabel(t.consent).isChecked())) throw new Error('the consent box did not tick');
}

// romeMinutes is now as the pages write it in Europe/Rome, a minute either
// side (the login may straddle a minute).
function romeMinutes() {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Rome', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  return [-60_000, 0, 60_000].map((d) => f.format(new Date(Date.now() + d)).replace(',', ''));
}

// journey walks one language's pages with the unregistered card, then the
// refusals with the other cards.
async function journey(lang) {
  const t = T[lang];
  const dir = await startDemo(`demo-${lang}`);
  const { p } = await launch(card(dir, 'unregistered'), lang);
  const fiscal = h.fiscalCode(dir, 'unregistered');

  await p.goto(`${PUBLIC}/`);
  await step(`${lang} keyboard: the first Tab reaches "${t.skip}"`, async () => {
    await p.keyboard.press('Tab');
    const focused = await p.evaluate(() => document.activeElement?.textContent?.trim());
    if (focused !== t.skip) throw new Error(`the first Tab focuses "${focused}"`);
  });
  await look(p, lang, 'home');
  await p.goto(`${PUBLIC}/no-such-page`);
  await step(`${lang} 404 on the public origin is a page of its own`, () => text(p, t.notFound));
  await look(p, lang, 'not-found');
  await p.goto(`${CNS}/no-such-page`);
  await look(p, lang, 'not-found-card-origin');
  await p.goto(`${PUBLIC}/cns/complete?code=${'x'.repeat(43)}`);
  await step(`${lang} an old handoff link says it has expired`, () => text(p, t.expiredLink));
  await look(p, lang, 'handoff-expired');

  // A forged form token on "Registra TS-CNS" is refused with its own page.
  await p.goto(`${CNS}/cns/login`);
  await p.getByRole('heading', { name: t.registerTitle }).waitFor();
  await p.evaluate(() => { document.querySelector('input[name=csrf]').value = 'forged'; });
  await consent(p, t);
  await p.getByRole('button', { name: t.register }).click();
  await step(`${lang} a forged registration form is refused`, () => text(p, t.csrf));
  await look(p, lang, 'register-refused');

  await p.goto(`${ESENZIONI}/`);
  if (lang === 'it') await look(p, lang, 'esenzioni-home');
  await p.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
  await p.waitForURL((u) => u.origin === PUBLIC);
  await step(`${lang} the login page names the service and leads back to it`, async () => {
    await text(p, `${t.loggingIn} Esenzioni da reddito`);
    const href = await p.getByRole('link', { name: t.backToService }).getAttribute('href');
    // It refuses the request to the service (access_denied at its redirect URI).
    if (!href?.startsWith(`${PUBLIC}/cns/cancel?req=`)) throw new Error(`"${t.backToService}" leads to ${href}`);
  });
  await look(p, lang, 'login-from-service');
  await p.getByRole('link', { name: t.login }).click();
  await p.getByRole('heading', { name: t.registerTitle }).waitFor();
  await step(`${lang} "${t.register}" shows the fiscal code and links the privacy notice`, async () => {
    await text(p, fiscal);
    const href = await p.getByRole('link', { name: t.privacy }).getAttribute('href');
    if (!href?.endsWith('/demo/privacy')) throw new Error(`the privacy notice link is ${href}`);
  });
  await look(p, lang, 'register');
  // Sent without the box ticked (the browser's own check taken away, as
  // an old browser would), the form comes back with the reason and a
  // fresh token, and goes through the second time.
  await p.evaluate(() => { document.querySelector('#consent').required = false; });
  await p.getByRole('button', { name: t.register }).click();
  await step(`${lang} a registration without consent comes back with the reason`, () => text(p, t.noConsent));
  await look(p, lang, 'register-noconsent');
  await consent(p, t);
  await p.getByRole('button', { name: t.register }).click();
  await p.locator('.alert-success').waitFor();
  await look(p, lang, 'registered');
  await p.getByRole('link', { name: t.cont }).click();
  // The citizen's first visit to Esenzioni: cnsgate lists what it will
  // receive (login.confirm_release, on by default).
  await step(`${lang} the first login to Esenzioni lists what it will receive`, async () => {
    await p.getByRole('heading', { name: RELEASE[lang].title }).waitFor();
    await text(p, 'Esenzioni da reddito');
    await text(p, fiscal);
  });
  await p.getByRole('button', { name: RELEASE[lang].cont }).click();
  await p.waitForURL(`${ESENZIONI}/`);
  await text(p, fiscal);
  if (lang === 'it') await look(p, lang, 'esenzioni-account');
  // Esenzioni's "Esci" sends an id_token_hint of this session: cnsgate
  // logs out at once and the browser goes back to the service.
  await p.getByRole('button', { name: 'Esci' }).click();
  await p.waitForURL((u) => u.origin === ESENZIONI && u.pathname === '/logged-out');
  if (lang === 'it') await look(p, lang, 'esenzioni-logged-out');

  // Logged in again (registered now): the welcome page.
  await p.goto(`${ESENZIONI}/`);
  await p.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
  await p.waitForURL((u) => u.origin === PUBLIC);
  await p.getByRole('link', { name: t.login }).click();
  await p.waitForURL(`${ESENZIONI}/`);
  await p.goto(`${PUBLIC}/`);
  await p.getByRole('heading', { name: t.welcome }).waitFor();
  await step(`${lang} "${t.accesses}": no failed access before the registration, times in Europe/Rome`, async () => {
    const rows = await p.locator('.cg-accesses tbody tr').allInnerTexts();
    if (rows.length === 0) throw new Error('no recent access listed');
    const bad = rows.filter((r) => r.includes(t.failedAccess));
    if (bad.length) throw new Error(`listed as failed: ${JSON.stringify(bad)}`);
    const times = await p.locator('.cg-accesses time').allInnerTexts();
    const want = romeMinutes();
    if (!want.includes(times[0])) throw new Error(`the latest access reads ${times[0]}, want one of ${want.join(', ')} (Europe/Rome; the server runs in UTC)`);
  });
  await look(p, lang, 'welcome');
  // "La mia tessera", and its two confirm steps, cancelled.
  await p.getByRole('link', { name: t.account }).click();
  await step(`${lang} "${t.account}" lists the card, the consent and "${t.history}"`, async () => {
    await p.getByRole('heading', { name: t.history }).waitFor();
    if (await p.locator('#cards tbody tr[data-status=active]').count() !== 1) throw new Error('the active card is not listed');
  });
  await look(p, lang, 'account');
  await p.getByRole('link', { name: t.removeCard }).click();
  await step(`${lang} "${t.removeTitle}" offers "${t.cancel}"`, () => p.getByRole('heading', { name: t.removeTitle }).waitFor());
  await look(p, lang, 'account-remove');
  await p.getByRole('link', { name: t.cancel }).click();
  await p.getByRole('link', { name: t.withdraw }).click();
  await step(`${lang} "${t.withdrawTitle}" offers "${t.cancel}"`, () => p.getByRole('heading', { name: t.withdrawTitle }).waitFor());
  await look(p, lang, 'account-withdraw');
  await p.getByRole('link', { name: t.cancel }).click();
  await p.getByRole('heading', { name: t.history }).waitFor();
  // cnsgate's own "Esci" asks first.
  await p.getByRole('banner').getByRole('link', { name: t.logout }).click();
  await step(`${lang} "${t.logoutTitle}" offers "${t.cancel}"`, async () => {
    await p.getByRole('heading', { name: t.logoutTitle }).waitFor();
    await p.getByRole('link', { name: t.cancel }).waitFor();
  });
  await look(p, lang, 'logout-confirm');
  await p.getByRole('button', { name: t.logout }).click();
  await step(`${lang} "${t.loggedOut}"`, () => p.getByRole('heading', { name: t.loggedOut }).waitFor());
  await look(p, lang, 'logged-out');

  // The SAML service provider: cnsgate's login page, then the refusal of
  // a citizen.
  await p.goto(`${CMS}/`);
  if (lang === 'it') await look(p, lang, 'cms-home');
  await p.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
  await p.waitForURL((u) => u.origin === PUBLIC && u.pathname === '/saml/sso');
  await look(p, lang, 'login-from-service-saml');
  await p.getByRole('link', { name: t.login }).click();
  // The CMS is for operators (audience operators): cnsgate itself refuses
  // a citizen, naming the service, and the CMS never sees an assertion.
  await step(`${lang} a citizen is refused the operators' CMS by cnsgate`, () => p.getByRole('heading', { name: t.denied }).waitFor());
  await look(p, lang, 'cms-refused');

  // "Revoca il consenso" confirmed: logged out, told so; the card is then
  // offered "Registra TS-CNS" again.
  await p.goto(`${PUBLIC}/`);
  if (await p.getByRole('heading', { name: t.welcome }).count() === 0) {
    await p.getByRole('link', { name: t.login }).click();
    await p.getByRole('heading', { name: t.welcome }).waitFor();
  }
  await p.getByRole('link', { name: t.account }).click();
  await p.getByRole('link', { name: t.withdraw }).click();
  await p.getByRole('button', { name: t.withdraw }).click();
  await step(`${lang} "${t.withdrawn}"`, () => p.getByRole('heading', { name: t.withdrawn }).waitFor());
  await look(p, lang, 'account-withdrawn');
  await p.goto(`${CNS}/cns/login`);
  await step(`${lang} after the withdrawal the card is offered "${t.register}" again`, () => p.getByRole('heading', { name: t.registerTitle }).waitFor());

  // The refusals, each card in a browser of its own.
  const refusals = [
    ['refused-revoked', card(dir, 'revoked'), t.revoked],
    ['refused-no-certificate', profile(dir, 'none'), t.noCert],
    ['refused-expired-card', card(dir, 'expired'), t.noCert],
    ['refused-unknown-issuer', foreignCard(dir), t.unknownIssuer],
  ];
  for (const [name, home, want] of refusals) {
    const { b, p: q } = await launch(home, lang);
    await q.goto(`${CNS}/cns/login`);
    await step(`${lang} ${name}: "${want}"`, () => text(q, want));
    await look(q, lang, name);
    await b.close();
  }
  await stopDemo();
}

// RELEASE are the data-release page's heading and button.
const RELEASE = { it: { title: 'Dati che saranno inviati al servizio', cont: 'Continua' }, en: { title: 'Data the service will receive', cont: 'Continue' } };

// releasePage: under login.confirm_release (the demo's default), the
// registered citizen's first login to Esenzioni shows what it will
// receive; "Continua" ends at Esenzioni.
async function releasePage() {
  const R = RELEASE;
  // A demo of its own for each language: the agreement is remembered.
  for (const lang of ['it', 'en']) {
    const dir = await startDemo(`demo-release-${lang}`);
    const { b, p } = await launch(card(dir, 'citizen'), lang);
    await p.goto(`${ESENZIONI}/`);
    await p.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await p.waitForURL((u) => u.origin === PUBLIC);
    await p.getByRole('link', { name: T[lang].login }).click();
    await step(`${lang} the data-release page lists what Esenzioni will receive`, async () => {
      await p.getByRole('heading', { name: R[lang].title }).waitFor();
      await text(p, 'Esenzioni da reddito');
    });
    await look(p, lang, 'release');
    await p.getByRole('button', { name: R[lang].cont }).click();
    await p.waitForURL(`${ESENZIONI}/`);
    await b.close();
    await stopDemo();
  }
}

// notEligible: under registration.mode allowlist, a valid card whose fiscal
// code was not imported.
async function notEligible() {
  const allow = path.join(h.work, 'allowlist.csv');
  fs.writeFileSync(allow, 'fiscal_code,given_name,family_name,note\n');
  const dir = await startDemo('demo-allowlist', { CNSGATE_REGISTRATION_MODE: 'allowlist', CNSGATE_REGISTRATION_ALLOWLIST_FILE: allow });
  for (const lang of ['it', 'en']) {
    const { b, p } = await launch(card(dir, 'unregistered'), lang);
    await p.goto(`${CNS}/cns/login`);
    await step(`${lang} refused-not-eligible: "${T[lang].notEligible}"`, () => text(p, T[lang].notEligible));
    await look(p, lang, 'refused-not-eligible');
    await b.close();
  }
  await stopDemo();
}

try {
  for (const lang of ['it', 'en']) await h.attempt(`${lang} journey`, () => journey(lang));
  await h.attempt('not-eligible', notEligible);
  await h.attempt('release', releasePage);
} finally {
  await h.close();
}
if (shotsDir) {
  const pngs = fs.readdirSync(shotsDir).filter((f) => f.endsWith('.png')).map((f) => path.join(shotsDir, f));
  execFileSync('pngquant', ['--force', '--ext', '.png', '--quality', '60-85', '--speed', '1', '--strip', ...pngs]);
}
h.report(shotsDir ? `; Italian screenshots copied to ${shotsDir}` : '');
