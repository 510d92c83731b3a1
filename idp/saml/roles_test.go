package saml

import (
	"context"
	"slices"
	"testing"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestOperatorRolesNeedAnOperatorCard logs in through the running IdP
// twice with the same fiscal code, which is in the operator table: with a
// personal TS-CNS (card type 6) the assertion carries no role attribute;
// with the operator card (card type 8) it carries the roles.
func TestOperatorRolesNeedAnOperatorCard(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{})
	h.start([]ServiceProvider{cms.cfg})
	if err := h.reg.PutOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operator"}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		typ   byte
		roles []string
	}{
		{"fail/citizen-card", '6', nil},
		{"ok/operator-card", '8', []string{"asl-operator"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI", CardType: tt.typ})
			h.preRegister(card) // replaces the other card
			br := h.browser(card)
			_, form := br.cardLogin(br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{}), "", ""))).must(t, 200).form(t)
			r := cms.read(form)
			attrs := r.attrs()
			if roles, ok := attrs["role"]; !slices.Equal(roles, tt.roles) || ok != (tt.roles != nil) {
				t.Fatalf("role attribute %v (present %v), want %v; attributes %v", roles, ok, tt.roles, attrs)
			}
			if len(attrs["fiscalNumber"]) != 1 || attrs["fiscalNumber"][0] != "TINIT-"+citizenCF {
				t.Fatalf("attributes %v", attrs)
			}
		})
	}
}
