// The relying party of cnsgate's OIDC flow written with openid-client, a
// certified relying-party library nobody here wrote. TestOpenIDClient in
// idp/oidc starts cnsgate (real card login over TLS) and runs this script
// with the environment below; the script plays the browser with node:https
// (card certificate on the card listener, cookie on the public origin) and
// leaves every protocol step to openid-client: discovery, code with PKCE,
// ID token validation, userinfo, refresh rotation, introspection,
// revocation and the end-session URL. It prints one JSON line on success
// and exits non-zero on the first failure.
//
//   ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, POST_LOGOUT_URI,
//   CARD_CERT, CARD_KEY (PEM files), NODE_EXTRA_CA_CERTS (the test CA)
import fs from 'node:fs';
import https from 'node:https';
import * as client from 'openid-client';

// The configuration of docs/relying-parties.md, as it stands there.
import { cnsgateConfig, finishLogin, logoutURL, startLogin } from './cnsgate-rp.mjs';

const env = process.env;
const issuer = new URL(env.ISSUER);
const card = { cert: fs.readFileSync(env.CARD_CERT), key: fs.readFileSync(env.CARD_KEY) };
const jar = new Map(); // cookies of the public origin

function must(cond, what) {
  if (!cond) throw new Error(what);
}

// request is one browser request; it follows no redirect.
function request(url, { method = 'GET', body, headers = {}, withCard = false } = {}) {
  const u = new URL(url);
  const opts = { method, headers: { ...headers }, agent: false, ...(withCard ? card : {}) };
  if (u.origin === issuer.origin && jar.size > 0) {
    opts.headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  return new Promise((resolve, reject) => {
    const req = https.request(u, opts, (res) => {
      if (u.origin === issuer.origin) {
        for (const c of res.headers['set-cookie'] ?? []) {
          const pair = c.split(';')[0];
          const i = pair.indexOf('=');
          const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
          if (value === '' || /max-age=(0|-1)/i.test(c)) jar.delete(name);
          else jar.set(name, value);
        }
      }
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function expectError(promise, code, what) {
  try {
    await promise;
  } catch (err) {
    must(err.error === code || err.code === code || String(err).includes(code), `${what}: ${err}`);
    return;
  }
  throw new Error(`${what}: accepted`);
}

const config = await cnsgateConfig(env.ISSUER, env.CLIENT_ID, env.CLIENT_SECRET);

// Authorization code with PKCE, through the card login.
const { authURL, pending } = await startLogin(config, env.REDIRECT_URI);
let r = await request(authURL.href);
const link = r.body.match(/href="([^"]*\/cns\/login\?req=[^"]+)"/);
must(r.status === 200 && link, `authorize answered ${r.status}`);
r = await request(link[1].replaceAll('&amp;', '&'), { withCard: true });
must(r.status === 303 && r.location.includes('/cns/complete'), `card login answered ${r.status}`);
r = await request(new URL(r.location, issuer).href);
must(r.status === 303 && r.location.startsWith(env.REDIRECT_URI), `handoff answered ${r.status} ${r.location}`);

const { tokens, claims, info } = await finishLogin(config, new URL(r.location), pending);
must(claims.fiscal_number?.startsWith('TINIT-'), 'fiscal_number');
must(claims.acr === 'urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI', 'acr');
must(claims.amr?.includes('sc') && claims.amr?.includes('pin'), 'amr');
must(claims.sid && claims.auth_time, 'sid and auth_time');

// Userinfo, for the same subject.
must(info.fiscal_number === claims.fiscal_number && info.given_name, 'userinfo claims');

// Refresh rotation; the spent refresh token is refused.
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
must(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'refresh rotation');
must(refreshed.claims()?.sub === claims.sub, 'refreshed ID token subject');

// Introspection, then revocation of the family.
const intro = await client.tokenIntrospection(config, refreshed.access_token);
must(intro.active === true && intro.client_id === env.CLIENT_ID, 'introspection');
await client.tokenRevocation(config, refreshed.refresh_token);
await expectError(client.refreshTokenGrant(config, refreshed.refresh_token), 'invalid_grant', 'refresh after revocation');
const dead = await client.tokenIntrospection(config, refreshed.access_token);
must(dead.active === false, 'access token of a revoked family still active');

// RP-initiated logout with an id_token_hint of this session: no
// confirmation, straight back to the client with the state.
const endURL = logoutURL(config, tokens.id_token, env.POST_LOGOUT_URI, 'bye');
r = await request(endURL.href);
must(r.status === 303 && r.location === `${env.POST_LOGOUT_URI}?state=bye`, `end_session answered ${r.status} ${r.location}`);

console.log(JSON.stringify({ ok: true, sid: claims.sid, sub: claims.sub }));
