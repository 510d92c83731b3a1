package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/cnsgate/cnsgate/demo"
)

// TestDemoFederation: the running demo answers
// /.well-known/openid-federation with an entity configuration that
// verifies with its own inline keys, names the demo trust anchor as its
// authority, carries the provider's discovery document with automatic
// registration, and publishes the anchor's trust mark, which verifies with
// the anchor's keys.
func TestDemoFederation(t *testing.T) {
	d := startDemo(t)
	b := d.browser(t, "citizen")
	iss := d.cfg.Issuer
	p := fetch(t, b, "GET", iss+"/.well-known/openid-federation", nil, "")
	if p.code != 200 {
		t.Fatalf("answered %d: %s", p.code, p.body)
	}
	msg, err := jws.Parse([]byte(p.body))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iss, Sub       string
		JWKS           json.RawMessage
		AuthorityHints []string `json:"authority_hints"`
		Metadata       struct {
			OpenIDProvider map[string]any `json:"openid_provider"`
		}
		TrustMarks []struct {
			Type      string `json:"trust_mark_type"`
			TrustMark string `json:"trust_mark"`
		} `json:"trust_marks"`
	}
	if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
		t.Fatal(err)
	}
	own, err := jwk.Parse(claims.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jws.Verify([]byte(p.body), jws.WithKeySet(own)); err != nil {
		t.Fatalf("the entity configuration does not verify with its own keys: %v", err)
	}
	if typ := msg.Signatures()[0].ProtectedHeaders().Type(); typ != "entity-statement+jwt" || claims.Iss != iss || claims.Sub != iss {
		t.Fatalf("typ %q iss %q sub %q", typ, claims.Iss, claims.Sub)
	}
	op := claims.Metadata.OpenIDProvider
	types, _ := op["client_registration_types_supported"].([]any)
	if !slices.Equal(claims.AuthorityHints, []string{demo.DemoTrustAnchor}) || op["issuer"] != iss || !slices.Contains(types, any("automatic")) {
		t.Fatalf("authority_hints %v, openid_provider %v", claims.AuthorityHints, op)
	}
	taJWKS, err := os.ReadFile(d.setup.TrustAnchorJWKSFile())
	if err != nil {
		t.Fatal(err)
	}
	ta, err := jwk.Parse(taJWKS)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims.TrustMarks) != 1 || claims.TrustMarks[0].Type != demo.DemoTrustMarkType {
		t.Fatalf("trust marks %+v", claims.TrustMarks)
	}
	if _, err := jws.Verify([]byte(claims.TrustMarks[0].TrustMark), jws.WithKeySet(ta)); err != nil {
		t.Fatalf("the trust mark does not verify with the demo anchor's keys: %v", err)
	}
	t.Logf("demo entity configuration: %d bytes, %s, verified with its inline keys; trust mark verified with %s's keys",
		len(p.body), msg.Signatures()[0].ProtectedHeaders().Algorithm(), demo.DemoTrustAnchor)
}
