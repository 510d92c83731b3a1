package saml

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestOperatorOrganisationAttributes: an operator's assertion carries
// organizationCode and organizationName beside role, and cardType; a
// citizen's carries cardType only. An SP for operators refuses the citizen
// with "Accesso non consentito" naming it, and sends no Response.
func TestOperatorOrganisationAttributes(t *testing.T) {
	const cmsID = "https://cms.example/sp"
	h := newHarness(t, func(o *idp.Options) {
		o.Services = []idp.ServiceLink{{ID: cmsID, Name: "CMS - Gestione tessere", Audience: idp.AudienceOperators, RequiredRoles: []string{"asl-operator"}}}
	})
	cms := h.newSP("cms", spOptions{})
	open := h.newSP("portale", spOptions{})
	h.start([]ServiceProvider{cms.cfg, open.cfg})
	if cms.entityID != cmsID {
		t.Fatalf("the test SP is %s", cms.entityID)
	}
	if err := h.reg.AddOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operator"},
		Organisation: "120201", OrganisationName: "ASL Roma 1"}, "test"); err != nil {
		t.Fatal(err)
	}

	operator := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI", CardType: '8'})
	h.preRegister(operator)
	br := h.browser(operator)
	_, form := br.cardLogin(br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{}), "", ""))).must(t, 200).form(t)
	attrs := cms.read(form).attrs()
	for k, want := range map[string][]string{"role": {"asl-operator"}, "organizationCode": {"120201"},
		"organizationName": {"ASL Roma 1"}, "cardType": {"operator"}} {
		if !slices.Equal(attrs[k], want) {
			t.Fatalf("%s = %v, want %v (attributes %v)", k, attrs[k], want, attrs)
		}
	}

	citizen := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI", CardType: '6'})
	h.preRegister(citizen) // replaces the operator card
	br = h.browser(citizen)
	refused := br.cardLogin(br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{}), "", "")))
	if refused.status != http.StatusForbidden || strings.Contains(refused.body, "SAMLResponse") ||
		!strings.Contains(refused.body, "Accesso non consentito") || !strings.Contains(refused.body, "«CMS - Gestione tessere»") {
		t.Fatalf("citizen at the operators' SP: %d\n%s", refused.status, refused.body)
	}
	// The session stands: an SP open to all answers it at once, without roles.
	_, form = br.get(open.redirect(PathSSO, open.authnRequest(authnOpts{}), "", "")).must(t, 200).form(t)
	attrs = open.read(form).attrs()
	if _, ok := attrs["organizationCode"]; ok || !slices.Equal(attrs["cardType"], []string{"regional"}) {
		t.Fatalf("citizen attributes %v", attrs)
	}
}
