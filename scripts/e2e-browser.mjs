#!/usr/bin/env node
// The citizen's journey in a real browser: Debian's headless Chromium,
// driven by playwright-core, with a demo card in its NSS database and an
// AutoSelectCertificateForUrls policy for the card origin (the demo TLS CA
// trusted in the same database instead of --ignore-certificate-errors), against
// `cnsgate demo` on free loopback ports (or the addresses given in
// CNSGATE_E2E_PUBLIC, _CNS, _ADMIN, _ESENZIONI and _CMS, which `make test-e2e
// PUBLIC=localhost:9443 ...` sets), so that a running `make run` is no
// obstacle.
//
// Esenzioni da reddito -> "Accedi con TS/CNS" -> "Registra TS-CNS" (the
// unregistered demo card) -> the data-release page, the first release of the
// citizen's data to Esenzioni (login.confirm_release, on by default) ->
// "Continua" -> back at Esenzioni with the fiscal code -> "Esci"
// -> cnsgate ends the session at once (the id_token_hint names it) ->
// logged-out page ("rimuovi la tessera"); then a
// second login (the card is registered now), "Esci" on cnsgate's welcome
// page, and the back-channel logout ending the Esenzioni session. Then the
// operator's leg in a second Chromium (its own HOME, NSS database with only
// the `operator` card, and user-data-dir): the CMS (SAML service provider)
// -> its "Accedi con TS/CNS" -> cnsgate's SAML login page -> the card ->
// the data-release page (roles, organisation) -> "Continua" -> back at the CMS with fiscal code, name and role; and the citizen's
// browser, still open, refused by cnsgate before any assertion reaches the
// CMS ("Accesso non consentito", naming the CMS). Last, Ctrl-C, which must
// stop the demo cleanly.
//
// Screenshots of each step and the demo's logs go to testresults/e2e-browser/.
// Needs: root (the policy file lives in /etc/chromium/policies/managed and is
// removed at the end), /usr/bin/chromium, certutil and pk12util
// (libnss3-tools), openssl, and `npm ci --prefix scripts/browser`.
//
// Usage: [CNSGATE_E2E_PUBLIC=localhost:9443 ...] node scripts/e2e-browser.mjs [path/to/cnsgate]
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHarness } from './browser/harness.mjs';
import { listenAddrs, originsOf, portsOf } from './browser/listen.mjs';
import { browserTools, policyDir, portsFree } from './browser/preconditions.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.resolve(process.argv[2] ?? path.join(repo, 'bin/cnsgate'));
const artifacts = path.join(repo, 'testresults', 'e2e-browser');
// One policy file per run, so that two runs on one machine do not remove
// each other's.
const policyFile = path.join(policyDir, `cnsgate-e2e-${process.pid}.json`);
const addrs = await listenAddrs(['public', 'cns', 'admin', 'esenzioni', 'cms'], 'CNSGATE_E2E_',
  (name) => (name === 'admin' ? '127.0.0.1' : 'localhost'), die);
const ports = portsOf(addrs);
const { public: PUBLIC, cns: CNS, esenzioni: ESENZIONI, cms: CMS } = originsOf(addrs);
const P12_PASSWORD = 'demo';
const CARD = 'unregistered';
const OPERATOR_CARD = 'operator';

function die(msg) {
  console.error(`e2e-browser: ${msg}`);
  process.exit(2);
}

// ---- preconditions, each failing with what to do -------------------------

const { chromium } = browserTools({ bin, commands: ['certutil', 'pk12util', 'openssl'], fail: die });

await portsFree(ports, die, (name) => `, or give another address (make test-e2e ${name.toUpperCase()}=localhost:PORT)`);

// ---- the demo, the card, the browser profile ------------------------------

// The demo without a name: its directory is demo in the work directory, its
// logs cnsgate.stdout.log and cnsgate.stderr.log.
const h = createHarness({
  name: 'e2e-browser', nickname: 'demo', bin, chromium, artifacts, policyFile, addrs, demoFlags: ['--console', 'off'],
  cns: CNS, p12Password: P12_PASSWORD,
});
let demoDir;
let browser;
let operatorBrowser;

// The card as the browser imports it: PKCS#12 with a password, in the NSS
// database of the browser user's HOME (one HOME per card) that trusts the
// demo TLS CA the way the README tells a user to: the browser checks every
// server certificate (no --ignore-certificate-errors). The policy picks the
// first matching certificate: only this card is there.
function prepareProfile(card = CARD) {
  const home = h.card(demoDir, card);
  const listed = execFileSync('certutil', ['-d', `sql:${path.join(home, '.pki', 'nssdb')}`, '-L'], { encoding: 'utf8' });
  if (!listed.includes(`cnsgate demo ${card}`)) throw new Error(`the card is not in the NSS database:\n${listed}`);
  return { home, fiscalCode: h.fiscalCode(demoDir, card) };
}

// ---- steps -----------------------------------------------------------------

let passed = 0;
let failed = 0;
let skipped = 0;
let n = 0;
let page;
let broken = false;

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

// step runs one check of the journey; once one fails, the later ones are
// skipped, except those marked always (they do not depend on the journey).
async function step(name, fn, { always = false } = {}) {
  n += 1;
  const shot = `${String(n).padStart(2, '0')}-${slug(name)}`;
  if (broken && !always) {
    skipped += 1;
    console.log(`skip ${name}`);
    return;
  }
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
    if (page && page.url() !== 'about:blank') await page.screenshot({ path: path.join(artifacts, `${shot}.png`), fullPage: true });
  } catch (err) {
    failed += 1;
    broken = true;
    console.log(`FAIL ${name}: ${err.message.split('\n')[0]}`);
    if (page) {
      console.log(`     at ${page.url()}`);
      const text = await page.locator('body').innerText().catch(() => '');
      console.log(text.split('\n').slice(0, 15).map((l) => `     ${l}`).join('\n'));
      await page.screenshot({ path: path.join(artifacts, `${shot}-FAILED.png`), fullPage: true }).catch(() => {});
    }
  }
}

// expectText waits until the page shows text.
async function expectText(text) {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
}

function expectAt(origin, pathname) {
  const u = new URL(page.url());
  if (u.origin !== origin || (pathname && u.pathname !== pathname)) {
    throw new Error(`at ${page.url()}, expected ${origin}${pathname ?? ''}`);
  }
}

// launchChromium starts Debian's Chromium with the NSS database of home and
// a fresh user-data-dir (playwright's launch makes a temporary one), in
// Italian, 1000 px wide, and opens a page.
const launchChromium = (home) => h.launch(home, 'it', { width: 1000 });

async function run() {
  let fiscalCode = '';
  let home = '';
  console.log(`e2e-browser: public ${addrs.public}, card ${addrs.cns}, admin ${addrs.admin}, Esenzioni ${addrs.esenzioni}, CMS ${addrs.cms}`);
  await step('cnsgate demo starts on its ports', async () => {
    demoDir = await h.startDemo('');
    ({ home, fiscalCode } = prepareProfile());
  });
  await step('Chromium starts with the card in its NSS database', async () => {
    ({ b: browser, p: page } = await launchChromium(home));
  });
  await step('Esenzioni da reddito offers "Accedi con TS/CNS"', async () => {
    await page.goto(`${ESENZIONI}/`);
    await expectText('Esenzioni dal ticket per reddito');
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
  });
  await step('cnsgate asks for the card', async () => {
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL((u) => u.origin === PUBLIC);
    await expectText('Accedi ai servizi con la tua Tessera Sanitaria');
  });
  await step('the card is read and "Registra TS-CNS" offered', async () => {
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL((u) => u.origin === CNS);
    await page.getByRole('heading', { name: 'Registra TS-CNS' }).waitFor();
    await expectText(fiscalCode);
  });
  await step('registration with consent succeeds', async () => {
    // Bootstrap Italia draws the box on the label: tick it there, as a citizen does.
    await page.locator('label[for=consent]').click();
    if (!(await page.getByLabel('Acconsento').isChecked())) throw new Error('the consent box did not tick');
    await page.getByRole('button', { name: 'Registra TS-CNS' }).click();
    await expectText('Operazione correttamente eseguita');
  });
  await step('before the first release of data, cnsgate lists what Esenzioni will receive', async () => {
    await page.getByRole('link', { name: 'Continua' }).click();
    await page.getByRole('heading', { name: 'Dati che saranno inviati al servizio' }).waitFor();
    expectAt(PUBLIC);
    await expectText('Esenzioni da reddito');
    await expectText(fiscalCode);
    await expectText('Codice fiscale');
  });
  await step('back at Esenzioni with the fiscal code', async () => {
    await page.getByRole('button', { name: 'Continua' }).click();
    await page.waitForURL(`${ESENZIONI}/`);
    await expectText(fiscalCode);
    await expectText('Anna Verdi');
    await expectText('Dati dimostrativi');
    await expectText('E01');
  });
  await step('"Esci" at Esenzioni: logged out at once (id_token_hint of this session), remove the card', async () => {
    await page.getByRole('button', { name: 'Esci' }).click();
    // Back with the state Esenzioni sent to the end_session_endpoint.
    await page.waitForURL((u) => u.origin === ESENZIONI && u.pathname === '/logged-out' && u.searchParams.has('state'));
    await expectText('rimuovi la tessera');
  });
  await step('Esenzioni and cnsgate no longer know the citizen', async () => {
    await page.goto(`${ESENZIONI}/`);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
    await page.goto(`${PUBLIC}/`);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
  });
  await step('the registered card logs in again at once', async () => {
    await page.goto(`${ESENZIONI}/`);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL((u) => u.origin === PUBLIC);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL(`${ESENZIONI}/`);
    await expectText(fiscalCode);
  });
  await step('cnsgate\'s welcome page lists Esenzioni under "Servizi attivi"', async () => {
    await page.goto(`${PUBLIC}/`);
    await page.getByRole('heading', { name: 'Servizi attivi' }).waitFor();
    await page.getByRole('link', { name: 'Esenzioni da reddito' }).waitFor();
    await expectText(fiscalCode);
  });
  await step('"Esci" at cnsgate: close the browser and remove the card', async () => {
    await page.getByRole('button', { name: 'Esci' }).click();
    await expectText('rimuovi la tessera');
    expectAt(PUBLIC);
  });
  await step('the back-channel logout ended the Esenzioni session', async () => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      await page.goto(`${ESENZIONI}/`);
      if (await page.getByRole('link', { name: 'Accedi con TS/CNS' }).count()) break;
      if (Date.now() > deadline) throw new Error('Esenzioni still shows the citizen 15 s after the logout at cnsgate');
      await page.waitForTimeout(250);
    }
  });
  // ---- the operator's leg: a second Chromium with only the operator card --
  const citizenPage = page;
  let operatorCode = '';
  await step('a second Chromium starts with only the operator card', async () => {
    const operator = prepareProfile(OPERATOR_CARD);
    operatorCode = operator.fiscalCode;
    ({ b: operatorBrowser, p: page } = await launchChromium(operator.home));
  });
  await step('the CMS offers "Accedi con TS/CNS" to operators', async () => {
    await page.goto(`${CMS}/`);
    await page.getByRole('heading', { name: 'Gestione tessere' }).waitFor();
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
  });
  await step('the CMS sends the operator to cnsgate\'s SAML login', async () => {
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL((u) => u.origin === PUBLIC && u.pathname === '/saml/sso');
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
  });
  await step('before the first release of data, cnsgate lists what the CMS will receive', async () => {
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.getByRole('heading', { name: 'Dati che saranno inviati al servizio' }).waitFor();
    expectAt(PUBLIC);
    await expectText('CMS - Gestione tessere');
    await expectText('operatore_asl');
  });
  await step('the operator card logs in: back at the CMS with fiscal code, name and role', async () => {
    await page.getByRole('button', { name: 'Continua' }).click();
    await page.waitForURL(`${CMS}/`);
    await page.getByRole('heading', { name: 'Area operatori' }).waitFor();
    const cf = (await page.locator('#codice-fiscale').innerText()).trim();
    if (cf !== operatorCode) throw new Error(`the CMS shows fiscal code ${cf}, expected ${operatorCode}`);
    await expectText('Laura Bianchi');
    const roles = (await page.locator('#ruoli li').allInnerTexts()).map((r) => r.trim());
    if (!roles.includes('operatore_asl')) throw new Error(`the CMS shows roles ${JSON.stringify(roles)}, expected operatore_asl`);
    const org = (await page.locator('#organizzazione').innerText()).trim();
    if (org !== 'ASL Demo (120999)') throw new Error(`the CMS shows organisation ${org}, expected ASL Demo (120999)`);
  });
  await step('the citizen\'s browser is refused at the CMS', async () => {
    page = citizenPage;
    if (!page) throw new Error('the citizen\'s browser is not open');
    await page.goto(`${CMS}/`);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.waitForURL((u) => u.origin === PUBLIC && u.pathname === '/saml/sso');
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).click();
    await page.getByRole('heading', { name: 'Accesso non consentito' }).waitFor();
    expectAt(PUBLIC);
    await expectText('CMS - Gestione tessere');
    if ((await page.locator('body').innerText()).includes(fiscalCode)) throw new Error('the refusal shows the citizen\'s fiscal code');
  });
  await step('the refused citizen has no CMS session', async () => {
    await page.goto(`${CMS}/`);
    await page.getByRole('link', { name: 'Accedi con TS/CNS' }).waitFor();
  });
  await step('Ctrl-C stops the demo cleanly', async () => {
    if (browser) await browser.close();
    if (operatorBrowser) await operatorBrowser.close();
    browser = undefined;
    operatorBrowser = undefined;
    page = undefined;
    if (!h.demo) throw new Error('the demo did not start');
    h.demo.kill('SIGINT');
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 30_000));
    const result = await Promise.race([h.demoExit, timeout]);
    if (!result) throw new Error('cnsgate demo still runs 30 s after SIGINT');
    if (result.code !== 0) throw new Error(`cnsgate demo exited with ${result.code ?? result.signal} after SIGINT:\n${h.tail('')}`);
    if (!h.tail('', 1000).includes('cnsgate shutting down')) throw new Error('no "cnsgate shutting down" in the log');
  }, { always: true });
}

try {
  await run();
} finally {
  await h.close();
  failed += h.counts.failed;
}
console.log(`screenshots and logs: ${path.relative(process.cwd(), artifacts) || artifacts}`);
console.log(`e2e-browser: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
