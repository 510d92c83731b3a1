"""A SAML service provider on pysaml2 (Debian's python3-pysaml2), driven by
cnsgate's Go tests over stdin/stdout, one JSON object a line.

The test is the browser: it asks this SP for the URL of a signed
AuthnRequest or LogoutRequest, carries it to cnsgate, and hands back what
cnsgate sends the SP (a SAMLResponse at the ACS, a LogoutRequest or a
LogoutResponse at the SingleLogoutService). The SP checks everything with
pysaml2 itself (xmlsec1 for the signatures).

Environment: SP_ENTITY_ID, SP_BASE (its endpoints' origin), SP_KEY,
SP_CERT (PEM files), SP_SLO (comma-separated bindings of its
SingleLogoutService: redirect, post).

Commands ({"cmd": ...}): metadata; init (idp_metadata: file); login;
acs (SAMLResponse); logout; slo_request (SAMLRequest, RelayState,
binding); slo_response (SAMLResponse, binding). Errors are answered as
{"error": "..."}.
"""

import json
import logging
import os
import re
import sys
import traceback
from urllib.parse import parse_qs, urlparse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.metadata import create_metadata_string
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from cnsgate_sp import cnsgate_sp_config

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)

BINDINGS = {"redirect": BINDING_HTTP_REDIRECT, "post": BINDING_HTTP_POST}
ENTITY = os.environ["SP_ENTITY_ID"]
BASE = os.environ["SP_BASE"]
SLO = [BINDINGS[b] for b in os.environ.get("SP_SLO", "redirect").split(",")]


def config(idp_metadata=None):
    # The configuration of docs/saml-attributes.md, as it stands there.
    return cnsgate_sp_config(ENTITY, BASE, os.environ["SP_KEY"], os.environ["SP_CERT"], SLO, idp_metadata)


class SP:
    def __init__(self):
        self.client = None
        self.idp = None
        self.outstanding = {}
        self.name_id = None

    def metadata(self, msg):
        return {"metadata": create_metadata_string(None, config=config()).decode()}

    def init(self, msg):
        self.client = Saml2Client(config(msg["idp_metadata"]))
        self.idp = next(iter(self.client.metadata.identity_providers()))
        return {"idp": self.idp}

    def login(self, msg):
        reqid, info = self.client.prepare_for_authenticate(
            entityid=self.idp, relay_state=msg.get("relay_state", "py-state"),
            binding=BINDING_HTTP_REDIRECT, sign=True, sigalg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        self.outstanding[reqid] = "/"
        return {"url": dict(info["headers"])["Location"], "id": reqid}

    def acs(self, msg):
        resp = self.client.parse_authn_request_response(
            msg["SAMLResponse"], BINDING_HTTP_POST, outstanding=self.outstanding)
        if resp is None:
            raise ValueError("no response")
        self.name_id = resp.name_id
        info = resp.session_info()
        return {
            "name_id": resp.name_id.text, "name_id_format": resp.name_id.format,
            "ava": resp.get_identity(), "authn_context": [a[0] for a in info.get("authn_info", [])],
            "session_index": info.get("session_index"), "in_response_to": resp.in_response_to,
        }

    def logout(self, msg):
        out = self.client.global_logout(self.name_id, sign=True, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        binding, http_info = out[self.idp]
        return {"binding": binding, "url": dict(http_info["headers"])["Location"]}

    def slo_request(self, msg):
        binding = BINDINGS[msg["binding"]]
        args = self.client.handle_logout_request(
            msg["SAMLRequest"], self.name_id, binding, sign=True,
            sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, relay_state=msg.get("RelayState", ""))
        return http_answer(args)

    def slo_response(self, msg):
        resp = self.client.parse_logout_request_response(msg["SAMLResponse"], BINDINGS[msg["binding"]])
        if resp is None:
            raise ValueError("no LogoutResponse")
        return {"status_ok": resp.status_ok(), "in_response_to": resp.in_response_to}


def http_answer(args):
    """The URL a Redirect-binding answer goes to, or the action and fields
    of a POST-binding form."""
    headers = dict(args.get("headers", []))
    if "Location" in headers:
        u = urlparse(headers["Location"])
        return {"method": "GET", "url": headers["Location"], "query": {k: v[0] for k, v in parse_qs(u.query).items()}}
    html = args["data"]
    action = re.search(r'action="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
    return {"method": "POST", "url": action, "fields": fields}


def main():
    sp = SP()
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            out = getattr(sp, msg["cmd"])(msg)
        except Exception as e:  # answered, the test decides
            traceback.print_exc(file=sys.stderr)
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
