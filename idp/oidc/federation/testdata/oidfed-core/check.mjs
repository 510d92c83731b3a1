// Fetches cnsgate's entity configuration with @openid-federation/core,
// which checks the media type, the header (typ, kid) and the claims'
// schema (iss = sub among them), and verifies its signature here with
// WebCrypto against the key of its own inline jwks that the kid names.
// Then the claims cnsgate must carry as a leaf OpenID Provider are
// checked. Prints one JSON line; exits non-zero on any failure.
import { webcrypto } from 'node:crypto';
import { fetchEntityConfiguration } from '@openid-federation/core';

const entityId = process.env.ENTITY_ID;
const algs = {
  ES256: { key: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' } },
  RS256: { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verify: { name: 'RSASSA-PKCS1-v1_5' } },
  PS256: { key: { name: 'RSA-PSS', hash: 'SHA-256' }, verify: { name: 'RSA-PSS', saltLength: 32 } },
};

let verified = '';
const verifyJwtCallback = async ({ header, signature, jwk, data }) => {
  const a = algs[header.alg];
  if (!a) throw new Error(`unexpected alg ${header.alg}`);
  const key = await webcrypto.subtle.importKey('jwk', jwk, a.key, false, ['verify']);
  const ok = await webcrypto.subtle.verify(a.verify, key, signature, data);
  if (ok) verified = `${header.alg} kid ${header.kid}`;
  return ok;
};

const fail = (msg) => {
  console.log(JSON.stringify({ ok: false, error: msg }));
  process.exit(1);
};

try {
  const c = await fetchEntityConfiguration({ entityId, verifyJwtCallback });
  const op = c.metadata?.openid_provider ?? {};
  const checks = [
    [c.iss === entityId && c.sub === entityId, 'iss and sub are the entity id'],
    [c.exp > c.iat, 'exp after iat'],
    [Array.isArray(c.jwks?.keys) && c.jwks.keys.length >= 2, 'two federation keys published'],
    [Array.isArray(c.authority_hints) && c.authority_hints.length > 0, 'authority_hints'],
    [op.issuer === entityId, 'openid_provider.issuer is the entity id'],
    [(op.client_registration_types_supported ?? []).includes('automatic'), 'automatic registration'],
    [typeof op.jwks_uri === 'string' && typeof op.token_endpoint === 'string', 'openid_provider endpoints'],
    [typeof c.metadata?.federation_entity?.organization_name === 'string', 'federation_entity.organization_name'],
    [Array.isArray(c.trust_marks) && c.trust_marks.length > 0, 'trust_marks'],
  ];
  for (const [ok, what] of checks) if (!ok) fail(`missing: ${what}`);
  console.log(JSON.stringify({ ok: true, verified, keys: c.jwks.keys.length, checks: checks.length }));
} catch (e) {
  const detail = e?.cause?.issues ?? e?.issues;
  fail(String(e?.message ?? e) + (detail ? ': ' + JSON.stringify(detail) : ''));
}
