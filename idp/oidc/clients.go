package oidc

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
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

// ErrUnknownClient reports a client id that is neither configured nor
// resolved by Options.ResolveClient.
var ErrUnknownClient = errors.New("oidc: unknown client")

// ErrBadClient reports a client configuration the provider cannot serve.
var ErrBadClient = errors.New("oidc: invalid client configuration")

// AuthMethod is a client's token_endpoint_auth_method.
type AuthMethod string

// The client authentication methods the provider supports, in the order
// discovery publishes them.
const (
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthPrivateKeyJWT     AuthMethod = "private_key_jwt"
	AuthNone              AuthMethod = "none"
)

// SubjectType is a client's subject_type.
type SubjectType string

// The subject types; the zero value is pairwise.
const (
	SubjectPairwise SubjectType = "pairwise"
	SubjectPublic   SubjectType = "public"
)

// Client is one relying party as the provider serves it. The settings are
// taken as given: checking them (required options, URL syntax, a secret for
// the secret methods, keys for private_key_jwt) is the configuration's
// job, done once by config.Validate; the provider refuses only what it
// cannot build (an empty or repeated id, an unknown method, an inline JWK
// Set that does not parse).
type Client struct {
	ID   string
	Name string // shown to the citizen; the id when empty
	// Secret authenticates client_secret_basic and client_secret_post.
	Secret                 string
	RedirectURIs           []string // compared exactly
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string // none when empty
	// AllowedOrigins are the browser origins allowed to call the
	// provider's back-channel endpoints (CORS); empty: the origins of the
	// http(s) RedirectURIs.
	AllowedOrigins []string
	AuthMethod     AuthMethod
	// JWKS (an inline JWK Set, JSON) or JWKSURI hold the keys of a
	// private_key_jwt client.
	JWKS    string
	JWKSURI string
	// Scopes the client may receive; empty means every supported scope.
	Scopes      []string
	SubjectType SubjectType
	// IDTokenSignedResponseAlg signs the client's ID tokens and logout
	// tokens (RS256, PS256 or ES256; empty: RS256, or the only algorithm
	// the keys sign). UserinfoSignedResponseAlg, when set, makes /userinfo
	// answer the client with a signed JWT (application/jwt) instead of
	// JSON. A configured key must sign each (OpenID Connect Dynamic Client
	// Registration 1.0, 2).
	IDTokenSignedResponseAlg  string
	UserinfoSignedResponseAlg string
	// JWTAccessTokens makes the client's access tokens signed at+jwt
	// (RFC 9068) instead of opaque random strings; either kind is
	// resolved by /userinfo, /introspect and /revoke.
	JWTAccessTokens bool
	// OmitResponseISS leaves the RFC 9207 iss parameter out of the
	// client's authorization responses, for relying parties that mishandle
	// it.
	OmitResponseISS bool
	// Profile switches on the Italian public-sector rules for the client
	// (docs/italian-profile.md): "" or "oidc" is plain OpenID Connect.
	Profile string // "" or "oidc", "spid", "cie"
	// UserinfoEncryptedResponseAlg and Enc encrypt the signed userinfo
	// response to the client's encryption key (its JWKS); for spid and cie
	// clients they default to RSA-OAEP-256 and A256CBC-HS512.
	// IDTokenEncryptedResponseAlg and Enc do the same for ID tokens (cie
	// clients that register them).
	UserinfoEncryptedResponseAlg string
	UserinfoEncryptedResponseEnc string
	IDTokenEncryptedResponseAlg  string
	IDTokenEncryptedResponseEnc  string
}

// client is one relying party, as configured.
type client struct {
	id          string
	name        string
	secret      []byte
	redirects   []string
	postLogout  []string
	backchannel string
	method      AuthMethod
	keys        jwk.Set // inline keys for private_key_jwt
	jwksURI     string
	scopes      map[string]bool // allowed scopes; openid always is
	subject     SubjectType
	idAlg       string // "" is the provider's default
	userinfoAlg string // "": /userinfo answers JSON
	omitISS     bool
	jwtAccess   bool // access tokens are signed at+jwt
	profile     string
	uiEnc       encryption // userinfo: none when alg is ""
	idEnc       encryption // ID tokens: none when alg is ""
}

// newClients builds the clients of the provider, trusting the settings
// (see Client); keys must sign the algorithms they register. Every problem
// is reported at once.
func newClients(list []Client, keys *keySet) (map[string]*client, error) {
	out := make(map[string]*client, len(list))
	var errs []error
	bad := func(id, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: client %q: %s", ErrBadClient, id, fmt.Sprintf(format, args...)))
	}
	for _, cc := range list {
		c := &client{
			id: cc.ID, name: cc.Name, secret: []byte(cc.Secret),
			redirects: cc.RedirectURIs, postLogout: cc.PostLogoutRedirectURIs,
			backchannel: cc.BackchannelLogoutURI, method: cc.AuthMethod,
			jwksURI: cc.JWKSURI, subject: cc.SubjectType,
			idAlg: cc.IDTokenSignedResponseAlg, userinfoAlg: cc.UserinfoSignedResponseAlg, omitISS: cc.OmitResponseISS,
			jwtAccess: cc.JWTAccessTokens, profile: cc.Profile,
			uiEnc: encryption{cc.UserinfoEncryptedResponseAlg, cc.UserinfoEncryptedResponseEnc},
			idEnc: encryption{cc.IDTokenEncryptedResponseAlg, cc.IDTokenEncryptedResponseEnc},
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
		if !slices.Contains(authMethods, c.method) {
			bad(c.id, "token_endpoint_auth_method %q is not supported", c.method)
		}
		for _, problem := range append(c.algProblems(keys), c.profileProblems()...) {
			bad(c.id, "%s", problem)
		}
		if cc.JWKS != "" {
			set, err := jwk.Parse([]byte(cc.JWKS))
			if err != nil || set.Len() == 0 {
				bad(c.id, "jwks is not a JWK Set: %v", err)
			} else {
				c.keys = set
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

// algProblems says why the keys cannot sign what the client registered.
func (c *client) algProblems(keys *keySet) []string {
	var out []string
	for _, a := range []struct{ name, alg string }{
		{"id_token_signed_response_alg", c.idAlg}, {"userinfo_signed_response_alg", c.userinfoAlg},
	} {
		switch {
		case a.alg == "":
		case !contains(SigningAlgs, a.alg):
			out = append(out, fmt.Sprintf("%s %q is not supported (%s)", a.name, a.alg, strings.Join(SigningAlgs, ", ")))
		case !contains(keys.algs, a.alg):
			out = append(out, fmt.Sprintf("%s is %s but no signing key signs it: add %s to signing_keys", a.name, a.alg, keyNeeded(a.alg)))
		}
	}
	return out
}

// authMethods are the supported methods, in the order discovery lists them.
var authMethods = []AuthMethod{AuthClientSecretBasic, AuthClientSecretPost, AuthPrivateKeyJWT, AuthNone}

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

// mayReceive reports whether the client may receive scope (and the claims
// it carries).
func (c *client) mayReceive(scope string) bool {
	if scope == ScopeOfflineAccess {
		return c.italian() // the others always get a refresh token
	}
	return contains(supportedScopes, scope) && (c.scopes == nil || c.scopes[scope])
}

// grantScopes returns the requested scopes that cnsgate supports and the
// client may receive, in the order requested, without repeats.
func (c *client) grantScopes(requested []string) []string {
	var out []string
	for _, s := range requested {
		if !c.mayReceive(s) || contains(out, s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// scopeString joins scopes as the scope parameter does.
func scopeString(scopes []string) string { return strings.Join(scopes, " ") }
