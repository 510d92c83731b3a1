package cms

import (
	"context"
	"errors"
	"github.com/cnsgate/cnsgate/examples/internal/webpage"
	"testing"

	"github.com/crewjam/saml"
)

func assertion(attrs ...saml.Attribute) *saml.Assertion {
	return &saml.Assertion{AttributeStatements: []saml.AttributeStatement{{Attributes: attrs}}}
}

func TestRequireRole(t *testing.T) {
	fc := saml.Attribute{Name: "fiscalNumber", Values: []saml.AttributeValue{{Value: "TINIT-BNCLRA70A41H501B"}}}
	for name, tc := range map[string]struct {
		a   *saml.Assertion
		err error
	}{
		"operator":   {assertion(fc, saml.Attribute{Name: "role", Values: []saml.AttributeValue{{Value: "operatore_asl"}}}), nil},
		"friendly":   {assertion(saml.Attribute{Name: "urn:x", FriendlyName: "role", Values: []saml.AttributeValue{{Value: "a"}}}), nil},
		"citizen":    {assertion(fc), errNotOperator},
		"empty role": {assertion(fc, saml.Attribute{Name: "role", Values: []saml.AttributeValue{{Value: " "}}}), errNotOperator},
	} {
		if err := (requireRole{}).HandleAssertion(tc.a); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", name, err, tc.err)
		}
	}
}

func TestNewNeedsKeyAndHTTPS(t *testing.T) {
	if _, err := New(context.Background(), Config{BaseURL: "https://localhost:8082"}); err == nil {
		t.Error("no key accepted")
	}
}

func TestPagesParse(t *testing.T) {
	if _, err := webpage.Parse(templateFS, "cms", pageNames...); err != nil {
		t.Fatal(err)
	}
	if got := webpage.DisplayName("LAURA MARIA"); got != "Laura Maria" {
		t.Fatal(got)
	}
}
