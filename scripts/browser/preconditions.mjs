// The preconditions of the browser scripts (e2e-browser.mjs, e2e-pages.mjs,
// e2e-console.mjs), each failing with what to do: playwright-core (and
// axe-core) installed here, the cnsgate binary, Debian's Chromium, the
// command-line tools, a writable Chromium policy directory (the certificate
// auto-selection policy lives there), and free listen ports.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { busy } from './listen.mjs';

// policyDir is where Chromium reads managed policies (AutoSelectCertificateForUrls).
export const policyDir = '/etc/chromium/policies/managed';

// chromiumPath is the Chromium the scripts drive: $CHROMIUM, else Debian's.
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

// The Debian package of each command the scripts may need.
const packages = { certutil: 'libnss3-tools', pk12util: 'libnss3-tools', openssl: 'openssl', pngquant: 'pngquant' };

// have says whether cmd is on the PATH.
export function have(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// browserTools checks that a browser script can run and returns
// playwright-core's chromium and, with axe, axe-core's source. bin is the
// cnsgate binary, commands the tools it runs (certutil, pk12util, openssl
// and pngquant are known), fail is called with what to do.
export function browserTools({ bin, axe = false, commands = [], fail }) {
  const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), 'package.json'));
  const out = {};
  try {
    ({ chromium: out.chromium } = require('playwright-core'));
    if (axe) out.axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  } catch {
    fail(`${axe ? 'playwright-core or axe-core' : 'playwright-core'} is not installed: run \`npm ci --prefix scripts/browser\``);
  }
  if (!fs.existsSync(bin)) fail(`no cnsgate binary at ${bin}: run \`make build\``);
  if (!fs.existsSync(chromiumPath)) fail(`no Chromium at ${chromiumPath}: apt-get install -y chromium libnss3-tools`);
  for (const cmd of commands) if (!have(cmd)) fail(`${cmd} is missing: apt-get install -y ${packages[cmd] ?? cmd}`);
  try {
    fs.mkdirSync(policyDir, { recursive: true });
    fs.accessSync(policyDir, fs.constants.W_OK);
  } catch {
    fail(`cannot write ${policyDir} (the certificate auto-selection policy): run as root`);
  }
  return out;
}

// portsFree fails unless every port (by name) is free; advice(name) says
// what else to do besides stopping whatever uses it.
export async function portsFree(ports, fail, advice = () => '') {
  for (const [name, port] of Object.entries(ports)) {
    const why = await busy(port);
    if (why) fail(`port ${port} (${name}) is not free: ${why}. Stop whatever uses it${advice(name)}, and retry.`);
  }
}
