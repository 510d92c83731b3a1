package federation

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"

	"github.com/cnsgate/cnsgate/idp/oidc"
)

// clientOf turns a resolved chain's relying-party metadata into the
// client's registration (OpenID Federation 1.0, 12.1): the client id is
// the entity id; redirect_uris and the federation-vouched jwks are
// required, private_key_jwt is the only authentication method (automatic
// registration has no secret to share), and the profile is the configured
// one.
func (f *Federation) clientOf(ch *Chain) (*oidc.Client, error) {
	md := ch.Metadata
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s metadata: %s", ErrChain, ch.Subject, TypeRelyingParty, fmt.Sprintf(format, args...))
	}
	c := &oidc.Client{ID: ch.Subject, AuthMethod: oidc.AuthPrivateKeyJWT, Profile: f.o.Profile, SubjectType: oidc.SubjectPairwise}
	if types := stringList(md["client_registration_types"]); !slices.Contains(types, "automatic") {
		return nil, bad("client_registration_types %v does not include automatic", types)
	}
	if m, ok := md["token_endpoint_auth_method"].(string); ok && m != string(oidc.AuthPrivateKeyJWT) {
		return nil, bad("token_endpoint_auth_method %q: only private_key_jwt is accepted", m)
	}
	c.RedirectURIs = stringList(md["redirect_uris"])
	if len(c.RedirectURIs) == 0 {
		return nil, bad("redirect_uris missing")
	}
	for _, u := range c.RedirectURIs {
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || pu.Fragment != "" {
			return nil, bad("redirect_uri %q is not an absolute URI without fragment", u)
		}
	}
	// The keys come inline, vouched for by the chain: a jwks_uri would
	// make cnsgate fetch wherever the metadata points.
	jwks, ok := md["jwks"].(map[string]any)
	if !ok {
		return nil, bad("jwks missing or not a JWK Set (the keys must be inline)")
	}
	b, _ := json.Marshal(jwks)
	c.JWKS = string(b)
	c.Name, _ = md["client_name"].(string)
	c.PostLogoutRedirectURIs = stringList(md["post_logout_redirect_uris"])
	c.BackchannelLogoutURI, _ = md["backchannel_logout_uri"].(string)
	if st, _ := md["subject_type"].(string); st == string(oidc.SubjectPublic) {
		c.SubjectType = oidc.SubjectPublic
	}
	c.IDTokenSignedResponseAlg, _ = md["id_token_signed_response_alg"].(string)
	c.UserinfoSignedResponseAlg, _ = md["userinfo_signed_response_alg"].(string)
	encryptionOf(c, md)
	return c, nil
}

// encryptionOf fills the encryption the relying party registers for its
// userinfo responses and ID tokens (OpenID Connect Dynamic Client
// Registration 1.0, 2), as a spid or cie relying party publishes it in
// its openid_relying_party metadata; the provider checks the values
// against what it supports when it builds the client.
func encryptionOf(c *oidc.Client, md map[string]any) {
	for name, dst := range map[string]*string{
		"userinfo_encrypted_response_alg": &c.UserinfoEncryptedResponseAlg,
		"userinfo_encrypted_response_enc": &c.UserinfoEncryptedResponseEnc,
		"id_token_encrypted_response_alg": &c.IDTokenEncryptedResponseAlg,
		"id_token_encrypted_response_enc": &c.IDTokenEncryptedResponseEnc,
	} {
		*dst, _ = md[name].(string)
	}
}

// stringList reads a JSON list of strings (a lone string counts as one).
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
