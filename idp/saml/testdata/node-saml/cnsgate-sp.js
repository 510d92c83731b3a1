// @node-saml/node-saml configured for cnsgate's identity provider.
// cfg holds the service provider's own entity id, ACS and SLO URLs, key and
// certificate (PEM), and cnsgate's entity id, SSO and SLO URLs and signing
// certificate, as its metadata (<issuer>/saml/metadata) gives them.
"use strict";

const { SAML } = require("@node-saml/node-saml");

function cnsgateSAML(cfg) {
  const options = {
    issuer: cfg.spEntityID,
    callbackUrl: cfg.spACS, // HTTP-POST AssertionConsumerService
    logoutCallbackUrl: cfg.spSLO, // HTTP-POST SingleLogoutService
    entryPoint: cfg.idpSSO, // <issuer>/saml/sso
    logoutUrl: cfg.idpSLO, // <issuer>/saml/slo
    idpIssuer: cfg.idpEntityID, // <issuer>/saml/metadata
    idpCert: cfg.idpCert, // the signing certificate of cnsgate's metadata
    audience: cfg.spEntityID,
    // cnsgate wants signed AuthnRequests and LogoutRequests, RSA-SHA256.
    privateKey: cfg.spKey,
    publicCert: cfg.spCert,
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    signMetadata: true,
    // The SP's certificate in its metadata is also an encryption key:
    // cnsgate encrypts the assertion (AES-256-GCM) for it.
    decryptionPvk: cfg.spKey,
    identifierFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    authnContext: ["urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"],
    racComparison: "exact",
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: "always",
    acceptedClockSkewMs: 0,
  };
  return {
    login: new SAML(options),
    // node-saml looks for InResponseTo on a Response only: with "always"
    // it refuses every LogoutResponse posted back. The logout answer is
    // read by an instance that checks it if present.
    logout: new SAML({ ...options, validateInResponseTo: "ifPresent" }),
  };
}

module.exports = { cnsgateSAML };
