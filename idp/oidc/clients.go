package oidc

import (
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
	bad := func(id, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: client %q: %s", ErrBadClient, id, fmt.Sprintf(format, args...)))
	}
	for _, cc := range list {
		c := &client{
			id: cc.ID, name: cc.Name, secret: []byte(cc.Secret.Value()),
			redirects: cc.RedirectURIs, postLogout: cc.PostLogoutRedirectURIs,
			backchannel: cc.BackchannelLogoutURI, method: cc.TokenEndpointAuthMethod,
			jwksURI: cc.JWKSURI, subject: cc.SubjectType,
		}
		if c.id == "" {
			bad(c.id, "empty id")
			continue
		}
		if _, dup := out[c.id]; dup {
			bad(c.id, "duplicate id")
			continue
		}
		if c.name == "" {
			c.name = c.id
		}
		if c.method == "" {
			c.method = config.AuthClientSecretBasic
		}
		if c.subject == "" {
			c.subject = config.SubjectPairwise
		}
		switch c.method {
		case config.AuthClientSecretBasic, config.AuthClientSecretPost:
			if len(c.secret) == 0 {
				bad(c.id, "%s without a secret", c.method)
			}
		case config.AuthPrivateKeyJWT:
			if cc.JWKS == "" && cc.JWKSURI == "" {
				bad(c.id, "private_key_jwt without jwks or jwks_uri")
			}
		case config.AuthNone:
		default:
			bad(c.id, "token_endpoint_auth_method %q is not supported", c.method)
		}
		if cc.JWKS != "" {
			set, err := jwk.Parse([]byte(cc.JWKS))
			if err != nil || set.Len() == 0 {
				bad(c.id, "jwks is not a JWK Set: %v", err)
			} else {
				c.keys = set
			}
		}
		if len(c.redirects) == 0 {
			bad(c.id, "no redirect_uris")
		}
		for _, u := range c.redirects {
			if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Fragment != "" {
				bad(c.id, "redirect_uri %q is not an absolute URI without fragment", u)
			}
		}
		if len(cc.Scopes) > 0 {
			c.scopes = map[string]bool{ScopeOpenID: true}
			for _, s := range cc.Scopes {
				c.scopes[s] = true
			}
		}
		out[c.id] = c
	}
	return out, errors.Join(errs...)
}

// redirectAllowed reports whether uri is one of the client's registered
// redirect URIs, compared exactly.
func (c *client) redirectAllowed(uri string) bool { return contains(c.redirects, uri) }

// postLogoutAllowed reports whether uri is a registered post-logout
// redirect URI, compared exactly.
func (c *client) postLogoutAllowed(uri string) bool { return contains(c.postLogout, uri) }

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
