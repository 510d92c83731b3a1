"""pysaml2's configuration of a service provider of cnsgate."""
from saml2 import BINDING_HTTP_POST
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


def cnsgate_sp_config(entity_id, base_url, key_file, cert_file, slo_bindings, idp_metadata=None):
    """The SP entity_id with its endpoints under base_url, its key and
    certificate (PEM files, for signing and for the encrypted assertions),
    a SingleLogoutService for each of slo_bindings, and cnsgate's metadata
    saved to the file idp_metadata (or, instead, "remote": [{"url":
    "<issuer>/saml/metadata"}])."""
    slo = [(base_url + "/slo/" + b.rsplit(":", 1)[-1], b) for b in slo_bindings]
    conf = {
        "entityid": entity_id,
        "key_file": key_file,
        "cert_file": cert_file,
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        # The spid profile's names (fiscalNumber, name...) are in no map of
        # pysaml2: received under their own names. The oid profile's are
        # read as serialNumber, givenName, sn, st, eduPersonEntitlement.
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(base_url + "/acs", BINDING_HTTP_POST)],
                    "single_logout_service": slo,
                },
                # cnsgate wants signed requests, RSA-SHA256 (RSA-SHA1 is refused).
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "logout_responses_signed": True,
                "want_response_signed": True,
                "want_assertions_signed": True,
                "allow_unsolicited": False,
                "name_id_format": NAMEID_FORMAT_PERSISTENT,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
    }
    if idp_metadata:
        conf["metadata"] = {"local": [idp_metadata]}
    c = SPConfig()
    c.load(conf)
    return c
