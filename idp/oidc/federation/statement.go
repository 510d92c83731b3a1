package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// The media type and JWS typ of entity statements (OpenID Federation 1.0,
// 3 and 16.1).
const (
	ContentType   = "application/entity-statement+jwt"
	StatementType = "entity-statement+jwt"
	// PathConfiguration is where an entity publishes its entity
	// configuration, under its entity identifier.
	PathConfiguration = "/.well-known/openid-federation"
)

// statementAlgs are the signature algorithms accepted on entity
// statements: asymmetric only, never none nor HMAC.
var statementAlgs = []jwa.SignatureAlgorithm{
	jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512, jwa.ES256, jwa.ES384, jwa.ES512, jwa.EdDSA,
}

// clockSkew is the tolerance on iat and exp.
const clockSkew = 30 * time.Second

// statement is one verified entity statement: an entity configuration
// (iss = sub) or a subordinate statement (iss the superior).
type statement struct {
	Issuer             string                               `json:"iss"`
	Subject            string                               `json:"sub"`
	IssuedAt           int64                                `json:"iat"`
	Expires            int64                                `json:"exp"`
	JWKS               json.RawMessage                      `json:"jwks"`
	AuthorityHints     []string                             `json:"authority_hints"`
	Metadata           map[string]map[string]any            `json:"metadata"`
	MetadataPolicy     map[string]map[string]map[string]any `json:"metadata_policy"`
	MetadataPolicyCrit []string                             `json:"metadata_policy_crit"`
	Constraints        *struct {
		MaxPathLength *int `json:"max_path_length"`
	} `json:"constraints"`

	raw  []byte  // the compact JWS, as fetched
	keys jwk.Set // the jwks claim, parsed
}

// exp is the statement's expiry.
func (s *statement) exp() time.Time { return time.Unix(s.Expires, 0) }

// fetchEndpoint is the federation_fetch_endpoint of an entity
// configuration's federation_entity metadata, "" when it has none.
func (s *statement) fetchEndpoint() string {
	v, _ := s.Metadata["federation_entity"]["federation_fetch_endpoint"].(string)
	return v
}

// fetcher gets entity statements over HTTP(S): bounded time and size, no
// redirects.
type fetcher struct {
	client  *http.Client
	maxBody int64
	timeout time.Duration
	now     func() time.Time
}

// get fetches u and returns the body of a 200 answer of type
// application/entity-statement+jwt.
func (f *fetcher) get(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return nil, fmt.Errorf("%s is not an http(s) URL", u)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", ContentType)
	c := *f.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s answered %d", u, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, ContentType) {
		return nil, fmt.Errorf("GET %s answered Content-Type %q, not %s", u, ct, ContentType)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > f.maxBody {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", u, f.maxBody)
	}
	return []byte(strings.TrimSpace(string(body))), nil
}

// parse verifies raw, an entity statement, with keys (nil: with the keys of
// its own jwks claim, as an entity configuration is) and checks its typ,
// algorithm, iss, sub, iat and exp.
func (f *fetcher) parse(raw []byte, keys jwk.Set, iss, sub string) (*statement, error) {
	msg, err := jws.Parse(raw)
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, errors.New("not a single-signature JWS")
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	if h.Type() != StatementType {
		return nil, fmt.Errorf("typ %q, not %s", h.Type(), StatementType)
	}
	if !slices.Contains(statementAlgs, h.Algorithm()) {
		return nil, fmt.Errorf("algorithm %q not accepted", h.Algorithm())
	}
	if h.KeyID() == "" {
		return nil, errors.New("no kid in the header")
	}
	s := &statement{raw: raw}
	if err := json.Unmarshal(msg.Payload(), s); err != nil {
		return nil, fmt.Errorf("claims unreadable: %w", err)
	}
	if len(s.JWKS) > 0 && string(s.JWKS) != "null" {
		if s.keys, err = jwk.Parse(s.JWKS); err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
	}
	if keys == nil {
		keys = s.keys
	}
	if keys == nil || keys.Len() == 0 {
		return nil, errors.New("no keys to verify it with (jwks missing)")
	}
	if err := verify(raw, keys); err != nil {
		return nil, err
	}
	return s, s.check(f.now(), iss, sub)
}

// verify checks raw's signature with the key of keys its kid names.
func verify(raw []byte, keys jwk.Set) error {
	if _, err := jws.Verify(raw, jws.WithKeySet(keys, jws.WithInferAlgorithmFromKey(true))); err != nil {
		return fmt.Errorf("signature not made by the expected keys: %w", err)
	}
	return nil
}

// check tests the claims every entity statement has.
func (s *statement) check(now time.Time, iss, sub string) error {
	switch {
	case s.Issuer != iss:
		return fmt.Errorf("iss %q, expected %q", s.Issuer, iss)
	case s.Subject != sub:
		return fmt.Errorf("sub %q, expected %q", s.Subject, sub)
	case s.IssuedAt == 0 || s.Expires == 0:
		return errors.New("iat or exp missing")
	case time.Unix(s.IssuedAt, 0).After(now.Add(clockSkew)):
		return fmt.Errorf("iat %s is in the future", time.Unix(s.IssuedAt, 0).UTC().Format(time.RFC3339))
	case !s.exp().Add(clockSkew).After(now):
		return fmt.Errorf("expired at %s", s.exp().UTC().Format(time.RFC3339))
	}
	return nil
}

// configurationURL is where entity id publishes its entity configuration.
func configurationURL(id string) string { return strings.TrimRight(id, "/") + PathConfiguration }

// fetchURL is the fetch endpoint's address asking about sub.
func fetchURL(endpoint, sub string) string {
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + "sub=" + url.QueryEscape(sub)
}

// checkEntityID refuses what cannot be an entity identifier: an https URL
// with a host, no query and no fragment (OpenID Federation 1.0, 1.2).
func checkEntityID(id string) error {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an entity identifier (an https URL without query or fragment)", id)
	}
	return nil
}
