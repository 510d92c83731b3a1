"""The code flow of docs/relying-parties.md's Authlib snippet, as it stands there.

Run by idp/oidc TestAuthlibPrivateKeyJWT, which plays the browser. Environment:
  SNIPPET_DIR   directory holding cnsgate_authlib.py (the guide's block)
  ISSUER, CA_FILE, CLIENT_ID, REDIRECT_URI
  CLIENT_KEY    the client's private key, a JWK (JSON)

It prints {"url": ...} (where to send the browser), reads one line
{"callback": ...} (the URL the browser came back to), and prints the
verdict: the claims of the verified ID token and the /userinfo answer.
"""
import json
import os
import secrets
import sys

sys.path.insert(0, os.environ["SNIPPET_DIR"])
from cnsgate_authlib import cnsgate_client, finish_login, start_login  # noqa: E402


def main():
    meta, keys, session = cnsgate_client(
        os.environ["ISSUER"], os.environ["CLIENT_ID"], json.loads(os.environ["CLIENT_KEY"]),
        os.environ["REDIRECT_URI"], os.environ["CA_FILE"])
    state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    print(json.dumps({"url": start_login(meta, session, state, nonce, verifier)}), flush=True)
    callback = json.loads(sys.stdin.readline())["callback"]
    token, claims, userinfo = finish_login(meta, keys, session, callback, state, nonce, verifier)
    print(json.dumps({"ok": True, "nonce": nonce, "token_type": token["token_type"],
                      "refresh_token": bool(token.get("refresh_token")),
                      "claims": dict(claims), "userinfo": userinfo}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the verdict says why, for the Go test's message
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}), flush=True)
        sys.exit(1)
