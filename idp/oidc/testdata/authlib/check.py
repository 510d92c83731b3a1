"""cnsgate's metadata and ID tokens as Authlib (Debian's python3-authlib) reads them.

Run by idp/oidc TestAuthlib against a running provider. Environment:
  ISSUER    the provider's issuer
  CA_FILE   PEM file trusting the provider's TLS certificate
  TOKENS    JSON list of {"client_id", "nonce", "id_token", "access_token", "alg"}

It fetches the discovery document, validates it with
Authlib's own OpenIDProviderMetadata.validate(), fetches the jwks_uri it names, verifies
each ID token's signature with authlib.jose against that key set and
validates its claims as an authorization-code ID token (iss, aud, exp,
iat, nonce, azp, at_hash). The last line printed is a JSON verdict.
"""
import base64
import json
import os
import ssl
import sys
import urllib.request

from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata



def fetch(url, ctx):
    with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
        return json.loads(resp.read())


def main():
    issuer = os.environ["ISSUER"]
    ctx = ssl.create_default_context(cafile=os.environ["CA_FILE"])
    meta = OpenIDProviderMetadata(fetch(issuer + "/.well-known/openid-configuration", ctx))
    meta.validate()
    if meta["issuer"] != issuer:
        raise ValueError("issuer %r, want %r" % (meta["issuer"], issuer))
    keys = JsonWebKey.import_key_set(fetch(meta["jwks_uri"], ctx))
    algs = meta["id_token_signing_alg_values_supported"]
    verified = []
    for t in json.loads(os.environ["TOKENS"]):
        header = json.loads(base64.urlsafe_b64decode(t["id_token"].split(".")[0] + "==").decode())
        if header["alg"] != t["alg"] or header["alg"] not in algs:
            raise ValueError("ID token of %s signed %s, want %s among %s" % (t["client_id"], header["alg"], t["alg"], algs))
        claims = JsonWebToken(algs).decode(
            t["id_token"], keys, claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": issuer}},
            claims_params={"nonce": t["nonce"], "client_id": t["client_id"], "access_token": t["access_token"]},
        )
        claims.validate(leeway=5)
        verified.append({"client_id": t["client_id"], "alg": header["alg"], "sub": claims["sub"],
                         "fiscal_number": claims.get("fiscal_number", "")})
    print(json.dumps({"ok": True, "algs": algs, "verified": verified}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the verdict says why, for the Go test's message
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)
