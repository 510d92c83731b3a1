// Listen addresses for the browser scripts (e2e-browser.mjs, e2e-pages.mjs,
// e2e-console.mjs): each from an environment variable when set, else a free
// loopback port below the kernel's ephemeral range (outgoing connections
// draw from that range, and could take the port before the demo binds it).
import fs from 'node:fs';
import net from 'node:net';

// listenAddrs returns a host:port for each name: $PREFIX<NAME> when set,
// else hostFor(name) with a free port. fail is called with the reason when
// a given address is malformed or no port is free.
export async function listenAddrs(names, prefix, hostFor, fail) {
  let low = 32768;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch { /* not Linux: keep the usual start of the range */ }
  const taken = new Set();
  const out = {};
  for (const name of names) {
    const variable = `${prefix}${name.toUpperCase()}`;
    const given = process.env[variable];
    if (given) {
      if (!/^[^\s]*:\d+$/.test(given)) fail(`${variable}=${given} is not a host:port address`);
      out[name] = given;
      continue;
    }
    for (let i = 0; i < 200 && !out[name]; i++) {
      const p = 20000 + Math.floor(Math.random() * (low - 20000));
      if (!taken.has(p) && !(await busy(p))) {
        taken.add(p);
        out[name] = `${hostFor(name)}:${p}`;
      }
    }
    if (!out[name]) fail(`no free loopback port for ${name} after 200 tries`);
  }
  return out;
}

// portsOf is the port of each listen address (host:port).
export function portsOf(addrs) {
  return Object.fromEntries(Object.entries(addrs).map(([k, a]) => [k, Number(a.slice(a.lastIndexOf(':') + 1))]));
}

// originsOf is the https origin of each listen address: a wildcard host
// becomes localhost (the demo's TLS certificate is for localhost).
export function originsOf(addrs) {
  return Object.fromEntries(Object.entries(addrs).map(([k, a]) => {
    const i = a.lastIndexOf(':');
    const h = a.slice(0, i);
    return [k, `https://${h === '' || h === '0.0.0.0' || h === '[::]' ? 'localhost' : h}:${a.slice(i + 1)}`];
  }));
}

// busy says why a port cannot be used: something listens on it (IPv4 or
// IPv6 loopback, where Chromium may go for "localhost") or it cannot be bound.
export async function busy(port) {
  const answers = (host) =>
    new Promise((resolve) => {
      const s = net.connect({ host, port });
      s.setTimeout(500);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
      s.once('timeout', () => { s.destroy(); resolve(false); });
    });
  for (const host of ['127.0.0.1', '::1']) if (await answers(host)) return `something answers on ${host}:${port}`;
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (err) => resolve(`cannot bind 127.0.0.1:${port}: ${err.code}`));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve('')));
  });
}

