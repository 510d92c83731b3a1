package saml

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/registry"
)

const citizenCF = "RSSMRA85T10A562S"

// TestSSO runs a login per binding and SP profile through the real card
// login, and checks what the SP reads.
func TestSSO(t *testing.T) {
	tests := []struct {
		name   string
		opts   spOptions
		send   func(sp *testSP, b *browser, el func() []byte) page
		check  func(t *testing.T, r *result)
		cipher string
	}{
		{name: "ok/redirect-unsigned", opts: spOptions{}},
		{name: "ok/redirect-signed-sha256", opts: spOptions{signedMeta: true}},
		{name: "ok/post-signed", opts: spOptions{requireSigned: true}},
		{name: "ok/encrypted-aes256-cbc", opts: spOptions{encrypt: true}, cipher: algAES256CBC},
		{name: "ok/encrypted-aes256-gcm", opts: spOptions{encrypt: true, encMethods: []string{algAES128CBC, algAES256GCM}}, cipher: algAES256GCM},
		{name: "ok/oid-profile", opts: spOptions{profile: config.ProfileOID}, check: func(t *testing.T, r *result) {
			a := r.attrs()
			if a["urn:oid:2.5.4.5"][0] != "TINIT-"+citizenCF || a["urn:oid:2.5.4.42"][0] != "MARIO" || a["urn:oid:2.5.4.4"][0] != "ROSSI" || a["urn:oid:2.5.4.8"][0] != "Toscana" {
				t.Fatalf("oid attributes: %v", a)
			}
		}},
		{name: "ok/transient", opts: spOptions{nameID: config.NameIDTransient}, check: func(t *testing.T, r *result) {
			if f := r.assertion.Subject.NameID.Format; f != string(crewjam.TransientNameIDFormat) {
				t.Fatalf("NameID format %s", f)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			sp := h.newSP("cms", tt.opts)
			h.start([]config.ServiceProvider{sp.cfg})
			card := h.citizen(citizenCF)
			br := h.browser(card)
			el := sp.authnRequest(authnOpts{})
			id := el.SelectAttrValue("ID", "")
			var first page
			switch {
			case tt.opts.requireSigned:
				sp.signXML(el, dsig.RSASHA256SignatureMethod)
				first = br.post(h.public.URL+PathSSO, postValues(t, el, "state-1"), "https://cms.example")
			case tt.opts.signedMeta:
				first = br.get(sp.redirect(PathSSO, el, "state-1", dsig.RSASHA256SignatureMethod))
			default:
				first = br.get(sp.redirect(PathSSO, el, "state-1", ""))
			}
			action, form := br.cardLogin(first).must(t, 200, "Continua").form(t)
			if action != sp.acs || form.Get("RelayState") != "state-1" {
				t.Fatalf("form posts to %s with RelayState %q", action, form.Get("RelayState"))
			}
			r := sp.read(form)
			checkAssertion(t, h, sp, r, id)
			if r.encrypted != (tt.cipher != "") || r.cipher != tt.cipher {
				t.Fatalf("encrypted %v with %q, want %q", r.encrypted, r.cipher, tt.cipher)
			}
			if tt.check != nil {
				tt.check(t, r)
			}
			if roles := r.attrs()["role"]; roles != nil {
				t.Fatalf("a citizen got roles %v", roles)
			}
			// The SP is a participant of the session, for logout.
			sess, err := h.store.Get(context.Background(), br.cookie().Value)
			if err != nil {
				t.Fatal(err)
			}
			if len(sess.Participants) != 1 || sess.Participants[0].ClientID != sp.entityID ||
				sess.Participants[0].NameID != r.assertion.Subject.NameID.Value ||
				sess.Participants[0].SID != r.assertion.AuthnStatements[0].SessionIndex {
				t.Fatalf("participants: %+v", sess.Participants)
			}
			if n := h.rec.tokens[TokenAssertion+"/"+sp.entityID]; n != 1 {
				t.Fatalf("assertions counted: %d", n)
			}
		})
	}
}

// checkAssertion checks what every assertion must say.
func checkAssertion(t *testing.T, h *harness, sp *testSP, r *result, requestID string) {
	t.Helper()
	if r.status() != crewjam.StatusSuccess {
		t.Fatalf("status %s", r.status())
	}
	if r.response.InResponseTo != requestID || r.response.Destination != sp.acs || r.response.Issuer.Value != h.idp.EntityID() {
		t.Fatalf("response: InResponseTo %q Destination %q Issuer %q", r.response.InResponseTo, r.response.Destination, r.response.Issuer.Value)
	}
	a := r.assertion
	if a == nil {
		t.Fatal("no assertion")
	}
	now := time.Now()
	sc := a.Subject.SubjectConfirmations[0]
	if sc.Method != bearer || sc.SubjectConfirmationData.InResponseTo != requestID || sc.SubjectConfirmationData.Recipient != sp.acs {
		t.Fatalf("subject confirmation: %+v", sc.SubjectConfirmationData)
	}
	if d := sc.SubjectConfirmationData.NotOnOrAfter.Sub(now); d <= 0 || d > 5*time.Minute {
		t.Fatalf("bearer NotOnOrAfter in %s", d)
	}
	if a.Conditions.AudienceRestrictions[0].Audience.Value != sp.entityID || !a.Conditions.NotOnOrAfter.After(now) || a.Conditions.NotBefore.After(now) {
		t.Fatalf("conditions: %+v", a.Conditions)
	}
	st := a.AuthnStatements[0]
	if st.AuthnContext.AuthnContextClassRef.Value != "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI" || st.SessionIndex == "" {
		t.Fatalf("authn statement: %+v", st)
	}
	if a.Subject.NameID.Value == "" || strings.Contains(a.Subject.NameID.Value, citizenCF) || a.Subject.NameID.SPNameQualifier != sp.entityID {
		t.Fatalf("NameID %+v", a.Subject.NameID)
	}
	if sp.cfg.AttributeProfile == config.ProfileSPID {
		at := r.attrs()
		if !slices.Equal(at["fiscalNumber"], []string{"TINIT-" + citizenCF}) || at["name"][0] != "MARIO" ||
			at["familyName"][0] != "ROSSI" || at["region"][0] != "Toscana" {
			t.Fatalf("spid attributes: %v", at)
		}
	}
}

// TestSingleSignOn covers the second request of a session and the
// request options: ForceAuthn, IsPassive, RequestedAuthnContext,
// NameIDPolicy; persistent NameIDs are stable per SP and differ across SPs.
func TestSingleSignOn(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{})
	esenzioni := h.newSP("esenzioni", spOptions{})
	h.start([]config.ServiceProvider{cms.cfg, esenzioni.cfg})
	card := h.citizen(citizenCF)
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
