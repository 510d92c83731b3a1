package oidc

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/config"
)

// The scopes cnsgate releases claims for.
const (
	ScopeOpenID       = "openid"
	ScopeProfile      = "profile"
	ScopeFiscalNumber = "fiscal_number"
	ScopeRoles        = "roles"
)

// supportedScopes lists them in the order discovery publishes them.
var supportedScopes = []string{ScopeOpenID, ScopeProfile, ScopeFiscalNumber, ScopeRoles}

// ErrBadClient reports a client configuration the provider cannot serve.
var ErrBadClient = errors.New("oidc: invalid client configuration")

// client is one relying party, as configured.
type client struct {
	id          string
	name        string
	secret      []byte
	redirects   []string
	postLogout  []string
	backchannel string
	method      config.AuthMethod
	keys        jwk.Set // inline keys for private_key_jwt
	jwksURI     string
	scopes      map[string]bool // allowed scopes; openid always is
	subject     config.SubjectType
}

// newClients builds the clients from the configuration and checks what
// config.Validate leaves to the provider: parseable keys, usable redirect
// URIs. Every problem is reported at once.
func newClients(list []config.Client) (map[string]*client, error) {
	out := make(map[string]*client, len(list))
	var errs []error
	for _, cc := range list {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%w: client %q: %s", ErrBadClient, cc.ID, fmt.Sprintf(format, args...)))
		}
		if cc.ID == "" {
			bad("empty id")
			continue
		}
		if _, dup := out[cc.ID]; dup {
			bad("duplicate id")
			continue
		}
		out[cc.ID] = newClient(cc, bad)
	}
	return out, errors.Join(errs...)
}

// newClient builds a client from its settings, with the defaults filled
// in, and tells bad what is wrong with them.
func newClient(cc config.Client, bad func(format string, args ...any)) *client {
	c := &client{
		id: cc.ID, name: cmp.Or(cc.Name, cc.ID), secret: []byte(cc.Secret.Value()),
		redirects: cc.RedirectURIs, postLogout: cc.PostLogoutRedirectURIs,
		backchannel: cc.BackchannelLogoutURI, method: cmp.Or(cc.TokenEndpointAuthMethod, config.AuthClientSecretBasic),
		jwksURI: cc.JWKSURI, subject: cmp.Or(cc.SubjectType, config.SubjectPairwise),
	}
	c.checkAuth(cc, bad)
	if len(c.redirects) == 0 {
		bad("no redirect_uris")
	}
	for _, u := range c.redirects {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Fragment != "" {
			bad("redirect_uri %q is not an absolute URI without fragment", u)
		}
	}
	if len(cc.Scopes) > 0 {
		c.scopes = map[string]bool{ScopeOpenID: true}
		for _, s := range cc.Scopes {
			c.scopes[s] = true
		}
	}
	return c
}

// checkAuth checks that the client has what its token endpoint
// authentication method needs, and reads its JWK Set.
func (c *client) checkAuth(cc config.Client, bad func(format string, args ...any)) {
	switch c.method {
	case config.AuthClientSecretBasic, config.AuthClientSecretPost:
		if len(c.secret) == 0 {
			bad("%s without a secret", c.method)
		}
	case config.AuthPrivateKeyJWT:
		if cc.JWKS == "" && cc.JWKSURI == "" {
			bad("private_key_jwt without jwks or jwks_uri")
		}
	case config.AuthNone:
	default:
		bad("token_endpoint_auth_method %q is not supported", c.method)
	}
	if cc.JWKS != "" {
		set, err := jwk.Parse([]byte(cc.JWKS))
		if err != nil || set.Len() == 0 {
			bad("jwks is not a JWK Set: %v", err)
		} else {
			c.keys = set
		}
	}
}

// redirectAllowed reports whether uri is one of the client's registered
// redirect URIs, compared exactly.
func (c *client) redirectAllowed(uri string) bool { return contains(c.redirects, uri) }

// postLogoutAllowed reports whether uri is a registered post-logout
// redirect URI, compared exactly.
func (c *client) postLogoutAllowed(uri string) bool { return contains(c.postLogout, uri) }

// public reports whether the client holds no credential (a native or
// browser application): it must prove possession of the code with PKCE.
func (c *client) public() bool { return c.method == config.AuthNone }

// secretMatches compares a presented secret in constant time; hashing
// first hides the secret's length too.
func (c *client) secretMatches(s string) bool {
	want, got := sha256.Sum256(c.secret), sha256.Sum256([]byte(s))
	return len(c.secret) > 0 && subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// grantScopes returns the requested scopes that cnsgate supports and the
// client may receive, in the order requested, without repeats.
func (c *client) grantScopes(requested []string) []string {
	var out []string
	for _, s := range requested {
		if !contains(supportedScopes, s) || contains(out, s) {
			continue
		}
		if c.scopes != nil && !c.scopes[s] {
			continue
		}
		out = append(out, s)
	}
	return out
}

// scopeString joins scopes as the scope parameter does.
func scopeString(scopes []string) string { return strings.Join(scopes, " ") }
