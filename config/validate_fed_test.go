package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const fedOIDC = minimal + `
oidc:
  signing_keys: [rs256.pem]
  subject_salt: ` + testSalt + `
`

// TestFederationDefaults: with trust_anchors the section is on, its entity
// id the issuer, 24h lifetime, profile oidc, chains of at most 5.
func TestFederationDefaults(t *testing.T) {
	c := mustParse(t, noFiles(), fedOIDC+`
federation:
  signing_keys: [fed.pem]
  authority_hints: [https://ta.example.it]
  trust_anchors:
    - {entity_id: https://ta.example.it, jwks: '{"keys":[{"kty":"EC"}]}'}
`)
	f := c.Federation
	if !f.Enabled() || f.EntityID != "https://login.example.it" || f.Lifetime.Std() != 24*time.Hour || f.Profile != "oidc" || f.MaxChainLength != 5 {
		t.Fatalf("defaults: %+v", f)
	}
	if off := mustParse(t, noFiles(), minimal); off.Federation.Enabled() || off.Federation.EntityID != "" {
		t.Fatalf("federation on without configuration: %+v", off.Federation)
	}
}

// TestFederationValidation reports every problem of the section with its
// line.
func TestFederationValidation(t *testing.T) {
	_, err := noFiles().Parse([]byte(minimal + `
federation:
  signing_keys: []
  authority_hints: [http://ta.example.it]
  profile: saml
  max_chain_length: 20
  lifetime: -1h
  homepage_uri: nowhere
  trust_anchors:
    - entity_id: https://ta.example.it
      jwks: '{"keys":[]}'
    - entity_id: https://ta.example.it
      jwks: '{"keys":[{"kty":"EC"}]}'
      jwks_file: ta.json
    - entity_id: ""
  trust_marks:
    - {trust_mark_type: https://ta.example.it/tm, trust_mark: not-a-jwt}
`))
	got := problemsOf(t, err)
	for _, want := range []string{
		"federation: federation needs the OpenID Provider: configure oidc.signing_keys and oidc.subject_salt",
		"federation: option 'signing_keys' is required: the federation keys, apart from oidc.signing_keys",
		"federation: option 'authority_hints' must be a URL with scheme https but it's configured as 'http://ta.example.it' (line 9)",
		"federation: option 'lifetime' must be a positive duration but it's configured as '-1h' (line 12)",
		"federation: option 'profile' must be one of 'oidc', 'spid', 'cie' but it's configured as 'saml' (line 10)",
		"federation: option 'max_chain_length' must be between 3 and 10 but it's configured as '20' (line 11)",
		"federation: option 'homepage_uri' must be an absolute URL but it's configured as 'nowhere' (line 13)",
		"federation: trust_anchors[0]: option 'jwks' must be a JWK Set (JSON with a non-empty \"keys\" list) (line 16)",
		"federation: trust_anchors[1]: option 'entity_id' must be unique but 'https://ta.example.it' is also the entity_id of trust_anchors[0]",
		"federation: trust_anchors[1]: options 'jwks' and 'jwks_file' are mutually exclusive (line 18)",
		"federation: trust_anchors[2]: option 'entity_id' is required",
		"federation: trust_marks[0]: option 'trust_mark' must be a signed JWT (three dot-separated parts) (line 22)",
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("missing problem %q\ngot:\n%s", want, strings.Join(got, "\n"))
		}
	}
	_, err = noFiles().Parse([]byte(minimal + "federation:\n  authority_hints: [https://ta.example.it]\n"))
	if got := problemsOf(t, err); len(got) != 1 || !strings.Contains(got[0], "option 'trust_anchors' is required when federation is configured") {
		t.Errorf("half a federation: %v", got)
	}
}
