// The harness the browser scripts (e2e-pages.mjs, e2e-console.mjs,
// e2e-browser.mjs) share: `cnsgate demo` on the script's ports, started and
// stopped; a HOME per card whose NSS database trusts the demo TLS CA; Debian's
// Chromium with the certificate auto-selection policy for the card origin;
// the pass/fail count; and look, which checks a page at every width (no
// horizontal overflow, no axe-core violation, nothing refused by its
// Content-Security-Policy) and keeps its screenshots.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromiumPath } from './preconditions.mjs';

// AXE_WCAG21AA are the axe-core tags of WCAG 2.1 A and AA.
export const AXE_WCAG21AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// CHROMIUM_ARGS are the flags of every headless Chromium the scripts start.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

const quiet = { stdio: ['ignore', 'ignore', 'pipe'] }; // never waits for a password on stdin

// createHarness makes the harness of one script run. Options:
//   name        the script's name (e2e-pages): its temporary work directory
//               is cnsgate-<name>-* and the label of its card certificates
//               the word after "e2e-" unless nickname says otherwise
//   bin         the cnsgate binary
//   chromium    playwright-core's chromium; axeSource axe-core's (for look)
//   artifacts   the directory of the demo's logs and the screenshots (emptied)
//   policyFile  the Chromium policy file (removed at the end)
//   addrs       listen address per demo listener (public, cns, admin,
//               esenzioni, cms, console): each becomes --<name> <addr>
//   demoFlags   further flags of every `cnsgate demo`; demoEnv its
//               environment over this one's (TZ: 'UTC')
//   cns         the card origin the policy selects the certificate for
//   p12Password the password of the PKCS#12 files imported into NSS
//   widths      the widths look checks; axeTags the axe-core tags
//   shotsDir    where look copies the Italian screenshots at shotWidths
//               (nothing when empty)
export function createHarness(o) {
  const {
    name, bin, chromium, axeSource, artifacts, policyFile, addrs, demoFlags = [], demoEnv = {}, cns, p12Password,
    widths = [320, 375, 1280], axeTags = AXE_WCAG21AA, shotsDir = '', shotWidths = [],
  } = o;
  const nickname = o.nickname ?? name.replace(/^e2e-/, '');
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });
  if (shotsDir) fs.mkdirSync(shotsDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `cnsgate-${name}-`));
  const browsers = [];
  const pagesSeen = new Set();
  const counts = { passed: 0, failed: 0 };
  let demo;
  let demoExit; // promise of {code, signal}
  let profiles = 0;

  function cleanup() {
    try { fs.rmSync(policyFile, { force: true }); } catch { /* reported by close if it stays */ }
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

  // logFile is the demo's stdout or stderr log in artifacts; the demo
  // without a name logs to cnsgate.stdout.log.
  const logFile = (demoName, s) => path.join(artifacts, `${demoName ? `cnsgate-${demoName}` : 'cnsgate'}.${s}.log`);

  // tail is the last n lines of a demo's stderr.
  function tail(demoName, n = 20) {
    return fs.readFileSync(logFile(demoName, 'stderr'), 'utf8').trimEnd().split('\n').slice(-n).join('\n');
  }

  // startDemo runs `cnsgate demo` in a fresh directory (work/<demoName>,
  // work/demo without a name) with demoEnv and then env over this
  // environment, and waits for its banner. It returns the demo's directory.
  async function startDemo(demoName, env = {}, flags = []) {
    const dir = path.join(work, demoName || 'demo');
    const out = fs.openSync(logFile(demoName, 'stdout'), 'w');
    const err = fs.openSync(logFile(demoName, 'stderr'), 'w');
    const listen = Object.entries(addrs).flatMap(([k, a]) => [`--${k}`, a]);
    demo = spawn(bin, ['demo', '--dir', dir, ...listen, ...demoFlags, ...flags],
      { stdio: ['ignore', out, err], env: { ...process.env, ...demoEnv, ...env } });
    demoExit = new Promise((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (fs.readFileSync(logFile(demoName, 'stdout'), 'utf8').includes('Press Ctrl-C to stop.')) return dir;
      if (demo.exitCode !== null || demo.signalCode !== null) throw new Error(`cnsgate demo exited (${demo.exitCode ?? demo.signalCode}):\n${tail(demoName)}`);
      if (Date.now() > deadline) throw new Error(`cnsgate demo printed no banner in 60 s:\n${tail(demoName)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // stopDemo sends the demo Ctrl-C and waits up to 30 s for a clean exit.
  async function stopDemo() {
    demo.kill('SIGINT');
    const result = await Promise.race([demoExit, new Promise((r) => setTimeout(() => r(null), 30_000))]);
    if (!result || result.code !== 0) throw new Error(`cnsgate demo did not stop cleanly: ${JSON.stringify(result)}`);
  }

  // stopDemoIfRunning stops a demo a failed journey left running, so that
  // it does not hold the ports of the next one.
  async function stopDemoIfRunning() {
    if (demo && demo.exitCode === null) await stopDemo().catch(() => {});
  }

  // profile makes a HOME whose NSS database trusts the demo TLS CA and
  // holds one certificate (a demo card, or another PEM pair), the only one
  // the policy can pick, under the nickname "cnsgate <nickname> <card>".
  function profile(demoDir, card, certFile, keyFile) {
    profiles += 1;
    const home = path.join(work, `home-${profiles}-${card}`);
    const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
    fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
    execFileSync('certutil', ['-d', db, '-N', '--empty-password'], quiet);
    execFileSync('certutil', ['-d', db, '-A', '-n', 'cnsgate demo TLS CA', '-t', 'C,,', '-i', path.join(demoDir, 'tls', 'ca.crt')], quiet);
    if (certFile) {
      const p12 = path.join(work, `${card}.p12`);
      execFileSync('openssl', ['pkcs12', '-export', '-in', certFile, '-inkey', keyFile, '-name', `cnsgate ${nickname} ${card}`,
        '-out', p12, '-passout', `pass:${p12Password}`], quiet);
      execFileSync('pk12util', ['-d', db, '-i', p12, '-W', p12Password], quiet);
    }
    return home;
  }

  // card is the HOME of one of the demo's cards.
  function card(demoDir, card_) {
    const c = path.join(demoDir, 'cards');
    return profile(demoDir, card_, path.join(c, `${card_}-fullchain.crt`), path.join(c, `${card_}.key`));
  }

  // foreignCard is a certificate no CA of cnsgate's trust store issued:
  // what a citizen presents who picks the wrong certificate.
  function foreignCard(demoDir) {
    const f = (n) => path.join(work, n);
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

  // fiscalCode is the fiscal code `cnsgate inspect` reads from a demo card.
  function fiscalCode(demoDir, card_) {
    return JSON.parse(execFileSync(bin, ['inspect', '--trust', path.join(demoDir, 'trust'), path.join(demoDir, 'cards', `${card_}.crt`)],
      { encoding: 'utf8' })).fiscal_code;
  }

  // launch writes the policy (the certificate for the card origin is picked
  // without asking) and starts Chromium with the NSS database of home, in
  // Italian or English, width px wide; the page collects the CSP violations
  // its console reports.
  async function launch(home, lang, { width = 1280 } = {}) {
    fs.writeFileSync(policyFile, JSON.stringify({ AutoSelectCertificateForUrls: [JSON.stringify({ pattern: cns, filter: {} })] }));
    const b = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, HOME: home } });
    browsers.push(b);
    const ctx = await b.newContext({ locale: lang === 'it' ? 'it-IT' : 'en-GB', viewport: { width, height: 800 } });
    ctx.setDefaultTimeout(15_000);
    const p = await ctx.newPage();
    p.cspViolations = [];
    p.on('console', (m) => { if (m.text().includes('Content Security Policy')) p.cspViolations.push(m.text().slice(0, 200)); });
    return { b, p };
  }

  function ok(label) { counts.passed += 1; console.log(`ok   ${label}`); }
  function fail(label, err) { counts.failed += 1; console.log(`FAIL ${label}: ${String(err.message ?? err).split('\n').slice(0, 12).join('\n     ')}`); }

  // step runs one check and counts it.
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

  // text waits until the page shows s.
  async function text(p, s) { await p.getByText(s, { exact: false }).first().waitFor({ state: 'visible' }); }

  // lookWidth checks the page at one width and keeps its screenshot; it
  // returns the problems found.
  async function lookWidth(p, lang, pageName, width) {
    const problems = [];
    await p.setViewportSize({ width, height: 800 });
    await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const wide = await p.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth));
    if (wide > width) problems.push(`${width} px: the page is ${wide} px wide`);
    await p.evaluate(axeSource);
    const res = await p.evaluate((tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }), axeTags);
    for (const v of res.violations) {
      problems.push(`${width} px: axe ${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    }
    const file = `${lang}-${pageName}-${width}.png`;
    await p.screenshot({ path: path.join(artifacts, file), fullPage: true });
    if (shotsDir && lang === 'it' && shotWidths.includes(width)) fs.copyFileSync(path.join(artifacts, file), path.join(shotsDir, `${pageName}-${width}.png`));
    return problems;
  }

  // look checks the page on screen at every width: no horizontal overflow,
  // no axe-core violation, no refused resource, the page's language.
  async function look(p, lang, pageName) {
    const label = `${lang} ${pageName}`;
    pagesSeen.add(pageName);
    try {
      const htmlLang = await p.evaluate(() => document.documentElement.lang);
      if (htmlLang !== lang) throw new Error(`<html lang="${htmlLang}">, want ${lang}`);
      const problems = [];
      for (const width of widths) problems.push(...(await lookWidth(p, lang, pageName, width)));
      if (p.cspViolations.length) problems.push(`Content-Security-Policy refused: ${p.cspViolations.join(' | ')}`);
      p.cspViolations.length = 0;
      await p.setViewportSize({ width: 1280, height: 800 });
      if (problems.length) throw new Error(problems.join('\n'));
      ok(`${label}: ${widths.join('/')} px fit, 0 axe violations`);
    } catch (err) {
      fail(label, err);
    }
  }

  // closeBrowsers closes every browser still open.
  async function closeBrowsers() {
    for (const b of browsers.splice(0)) await b.close().catch(() => {});
  }

  // attempt runs one leg of the run (a demo and its browsers): a failure
  // is counted after onFailure (say where it was), and the demo the leg
  // leaves running is stopped, so that it does not hold the ports of the
  // next one; the leg's browsers are closed either way.
  async function attempt(label, fn, onFailure = async () => {}) {
    try {
      await fn();
    } catch (err) {
      await onFailure();
      fail(label, err);
      await stopDemoIfRunning();
    }
    await closeBrowsers();
  }

  // close ends the run: the browsers closed, the demo killed if it still
  // runs, the work directory and the policy file removed (a failure if the
  // policy file stays).
  async function close() {
    await closeBrowsers();
    cleanup();
    if (fs.existsSync(policyFile)) {
      counts.failed += 1;
      console.log(`FAIL the policy file ${policyFile} could not be removed`);
    }
  }

  // report prints the pages seen, where the artifacts are (and note), the
  // count, and exits 1 if a check failed.
  function report(note = '') {
    console.log(`pages: ${[...pagesSeen].join(', ')}`);
    console.log(`screenshots and logs: ${path.relative(process.cwd(), artifacts) || artifacts}${note}`);
    console.log(`${name}: ${counts.passed} passed, ${counts.failed} failed`);
    process.exit(counts.failed ? 1 : 0);
  }

  return {
    work, browsers, counts, startDemo, stopDemo, stopDemoIfRunning, tail, profile, card, foreignCard, fiscalCode, launch,
    ok, fail, step, text, look, attempt, closeBrowsers, close, report,
    get demo() { return demo; },
    get demoExit() { return demoExit; },
  };
}
