package saml

import (
	"context"
	"slices"
	"testing"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestSingleSignOn covers the second request of a session and the
// request options: ForceAuthn, IsPassive, RequestedAuthnContext,
// NameIDPolicy; persistent NameIDs are stable per SP and differ across SPs.
func TestSingleSignOn(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{})
	esenzioni := h.newSP("esenzioni", spOptions{})
	h.start([]ServiceProvider{cms.cfg, esenzioni.cfg})
	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI", CardType: '8'})
	h.preRegister(card)
	if err := h.reg.PutOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operator", "cms-admin"}}); err != nil {
		t.Fatal(err)
	}
	br := h.browser(card)

	// IsPassive without a session: NoPassive, no login page.
	passive := br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{passive: true}), "", ""))
	_, form := passive.must(t, 200).form(t)
	if r := cms.read(form); r.status() != crewjam.StatusNoPassive || r.assertion != nil {
		t.Fatalf("passive without session: %s", r.status())
	}

	_, form = br.cardLogin(br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{}), "", ""))).form(t)
	first := cms.read(form)
	if roles := first.attrs()["role"]; !slices.Equal(roles, []string{"asl-operator", "cms-admin"}) {
		t.Fatalf("operator roles: %v", roles)
	}

	tests := []struct {
		name   string
		sp     *testSP
		opts   authnOpts
		status string // "" for a success
		login  bool   // the card login page comes first
	}{
		{name: "ok/sso-without-login", sp: cms},
		{name: "ok/other-sp-without-login", sp: esenzioni},
		{name: "ok/passive-with-session", sp: cms, opts: authnOpts{passive: true}},
		{name: "ok/exact-smartcard", sp: cms, opts: authnOpts{classRefs: []string{acrSmartcard}}},
		{name: "ok/minimum-password", sp: cms, opts: authnOpts{classRefs: []string{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}, comparison: "minimum"}},
		{name: "ok/nameid-policy-persistent", sp: cms, opts: authnOpts{nameIDFormat: string(crewjam.PersistentNameIDFormat)}},
		{name: "ok/force-authn-logs-in-again", sp: cms, opts: authnOpts{force: true}, login: true},
		{name: "fail/exact-password", sp: cms, opts: authnOpts{classRefs: []string{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}}, status: crewjam.StatusNoAuthnContext},
		{name: "fail/better-than-smartcard", sp: cms, opts: authnOpts{classRefs: []string{acrSmartcard}, comparison: "better"}, status: crewjam.StatusNoAuthnContext},
		{name: "fail/unknown-class", sp: cms, opts: authnOpts{classRefs: []string{"https://www.spid.gov.it/SpidL2"}, comparison: "minimum"}, status: crewjam.StatusNoAuthnContext},
		{name: "fail/nameid-policy-transient", sp: cms, opts: authnOpts{nameIDFormat: string(crewjam.TransientNameIDFormat)}, status: crewjam.StatusInvalidNameIDPolicy},
		{name: "fail/passive-and-force", sp: cms, opts: authnOpts{passive: true, force: true}, status: crewjam.StatusNoPassive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := tt.sp.authnRequest(tt.opts)
			p := br.get(tt.sp.redirect(PathSSO, el, "", ""))
			if tt.login {
				p = br.cardLogin(p)
			}
			_, form := p.must(t, 200).form(t)
			r := tt.sp.read(form)
			if tt.status != "" {
				if r.status() != tt.status || r.assertion != nil || r.response.InResponseTo != el.SelectAttrValue("ID", "") {
					t.Fatalf("status %s, want %s", r.status(), tt.status)
				}
				return
			}
			checkAssertion(t, h, tt.sp, r, el.SelectAttrValue("ID", ""))
			nid := r.assertion.Subject.NameID.Value
			if (tt.sp == cms) != (nid == first.assertion.Subject.NameID.Value) {
				t.Fatalf("persistent NameID %q for %s, first was %q", nid, tt.sp.entityID, first.assertion.Subject.NameID.Value)
			}
		})
	}
	// ForceAuthn made a new session, which only cms has joined; the old
	// one (with both SPs) ended as replaced.
	sess, err := h.store.Get(context.Background(), br.cookie().Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Participants) != 1 || sess.Participants[0].ClientID != cms.entityID {
		t.Fatalf("participants %+v", sess.Participants)
	}
	if n := h.notifications(); !slices.Equal(n, []string{"replaced"}) {
		t.Fatalf("notifications %v", n)
	}
}
