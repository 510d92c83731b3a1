// An independent SAML service provider for idp/saml's interop test:
// @node-saml/node-saml, driven over stdin/stdout with one JSON object per
// line. The Go test plays the browser; this process only builds and checks
// SAML messages, exactly as an application using node-saml would.
//
// Environment: SP_ENTITY_ID, SP_ACS, SP_SLO, SP_KEY and SP_CERT (PEM),
// IDP_ENTITY_ID, IDP_SSO, IDP_SLO, IDP_CERT (PEM).
//
// Commands (stdin)                          Answers (stdout)
//   (start)                                 {"metadata": "<EntityDescriptor...>"}
//   {"cmd":"login","relayState":"..."}      {"url": "<IdP SSO URL with a signed AuthnRequest>"}
//   {"cmd":"acs","SAMLResponse":"...",      {"profile": {...}} or {"error": "..."}
//    "clockOffsetMs": 0}
//   {"cmd":"logout"}                        {"url": "<IdP SLO URL with a signed LogoutRequest>"}
//   {"cmd":"slo","SAMLResponse":"..."}      {"loggedOut": true} or {"error": "..."}
"use strict";

const readline = require("node:readline");
const { cnsgateSAML } = require("./cnsgate-sp.js");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

// The configuration of docs/relying-parties.md, as it stands there.
const { login: saml, logout: sloSaml } = cnsgateSAML({
  spEntityID: env("SP_ENTITY_ID"),
  spACS: env("SP_ACS"),
  spSLO: env("SP_SLO"),
  spKey: env("SP_KEY"),
  spCert: env("SP_CERT"),
  idpEntityID: env("IDP_ENTITY_ID"),
  idpSSO: env("IDP_SSO"),
  idpSLO: env("IDP_SLO"),
  idpCert: env("IDP_CERT"),
});

// The SP's clock, which the test moves to prove NotOnOrAfter is enforced.
const RealDate = Date;
let clockOffsetMs = 0;
global.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + clockOffsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + clockOffsetMs;
  }
};

let profile = null;

const handlers = {
  async login(msg) {
    return { url: await saml.getAuthorizeUrlAsync(msg.relayState || "", undefined, {}) };
  },
  async acs(msg) {
    clockOffsetMs = msg.clockOffsetMs || 0;
    try {
      const res = await saml.validatePostResponseAsync({ SAMLResponse: msg.SAMLResponse });
      profile = res.profile;
      const { getAssertionXml, getAssertion, getSamlResponseXml, ...plain } = res.profile;
      return { profile: plain, loggedOut: res.loggedOut };
    } finally {
      clockOffsetMs = 0;
    }
  },
  async logout() {
    return { url: await saml.getLogoutUrlAsync(profile, "slo-state", {}) };
  },
  async slo(msg) {
    const res = await sloSaml.validatePostResponseAsync({ SAMLResponse: msg.SAMLResponse });
    return { loggedOut: res.loggedOut };
  },
};

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

out({ metadata: saml.generateServiceProviderMetadata(env("SP_CERT"), env("SP_CERT")) });

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
    const h = handlers[msg.cmd];
    if (!h) throw new Error(`unknown command ${msg.cmd}`);
    out(await h(msg));
  } catch (err) {
    out({ error: String((err && err.message) || err) });
  }
});
