package saml

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
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
		tweak  func(*Options)
	}{
		{name: "ok/redirect-unsigned", opts: spOptions{}},
		{name: "ok/redirect-signed-sha256", opts: spOptions{signedMeta: true}},
		{name: "ok/post-signed", opts: spOptions{requireSigned: true}},
		{name: "ok/encrypted-aes256-cbc", opts: spOptions{encrypt: true}, cipher: algAES256CBC},
		{name: "ok/encrypted-aes256-gcm", opts: spOptions{encrypt: true, encMethods: []string{algAES128CBC, algAES256GCM}}, cipher: algAES256GCM},
		{name: "ok/oid-profile", opts: spOptions{profile: ProfileOID}, check: func(t *testing.T, r *result) {
			a := r.attrs()
			if a["urn:oid:2.5.4.5"][0] != "TINIT-"+citizenCF || a["urn:oid:2.5.4.42"][0] != "MARIO" || a["urn:oid:2.5.4.4"][0] != "ROSSI" || a["urn:oid:2.5.4.8"][0] != "Toscana" {
				t.Fatalf("oid attributes: %v", a)
			}
		}},
		{name: "ok/skew-5m", opts: spOptions{}, tweak: func(o *Options) { o.NotBeforeSkew = 5 * time.Minute }},
		{name: "ok/no-skew", opts: spOptions{}, tweak: func(o *Options) { o.NotBeforeSkew = -1 }},
		{name: "ok/transient", opts: spOptions{nameID: NameIDTransient}, check: func(t *testing.T, r *result) {
			if f := r.assertion.Subject.NameID.Format; f != string(crewjam.TransientNameIDFormat) {
				t.Fatalf("NameID format %s", f)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			// A clock in Italian time: SAML times must still be UTC.
			h.now = func() time.Time { return time.Now().In(time.FixedZone("CET", 3600)) }
			sp := h.newSP("cms", tt.opts)
			if tt.tweak != nil {
				h.start([]ServiceProvider{sp.cfg}, tt.tweak)
			} else {
				h.start([]ServiceProvider{sp.cfg})
			}
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
			if bytes.Contains(r.raw, []byte("+01:00")) {
				t.Fatal("a time in the Response is not in UTC")
			}
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
	// NotBefore allows h.skew for an SP whose clock runs behind.
	if skew := a.IssueInstant.Sub(a.Conditions.NotBefore); skew != h.skew {
		t.Fatalf("NotBefore %s before the issue instant, want %s", skew, h.skew)
	}
	st := a.AuthnStatements[0]
	if st.AuthnContext.AuthnContextClassRef.Value != "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI" || st.SessionIndex == "" {
		t.Fatalf("authn statement: %+v", st)
	}
	if a.Subject.NameID.Value == "" || strings.Contains(a.Subject.NameID.Value, citizenCF) || a.Subject.NameID.SPNameQualifier != sp.entityID {
		t.Fatalf("NameID %+v", a.Subject.NameID)
	}
	if sp.cfg.AttributeProfile == ProfileSPID {
		at := r.attrs()
		if !slices.Equal(at["fiscalNumber"], []string{"TINIT-" + citizenCF}) || at["name"][0] != "MARIO" ||
			at["familyName"][0] != "ROSSI" || at["region"][0] != "Toscana" {
			t.Fatalf("spid attributes: %v", at)
		}
	}
}

// TestCrossSitePost: a browser leaves the SameSite=Lax session cookie off
// a form an SP posts cross-site. The identity provider posts the message
// again from its own page, so single sign-on and SP-initiated logout still
// see the session.
func TestCrossSitePost(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{requireSigned: true, slo: []endpoint{{bindingPost, "https://cms.example/slo"}}})
	h.start([]ServiceProvider{cms.cfg})
	br := h.browser(h.citizen(citizenCF))
	a := h.loggedIn(br, cms)[cms].assertion

	crossSite := func(path string, el *etree.Element) page {
		t.Helper()
		resp, err := h.client().PostForm(h.public.URL+path, postValues(t, cms.signXML(el, dsig.RSASHA256SignatureMethod), "rs"))
		if err != nil {
			t.Fatal(err)
		}
		action, fields, ok := readPage(t, resp).repost(t)
		if !ok || action != h.public.URL+path || fields.Get("RelayState") != "rs" {
			t.Fatalf("no re-post of a cookieless POST to %s", path)
		}
		return br.postOnce(action, fields, h.public.URL)
	}
	action, form := crossSite(PathSSO, cms.authnRequest(authnOpts{})).must(t, 200).form(t)
	if action != cms.acs || cms.read(form).assertion.Subject.NameID.Value != a.Subject.NameID.Value {
		t.Fatal("single sign-on lost across sites")
	}
	// The signed LogoutRequest sees the session and ends it at once; the
	// browser is sent to the LogoutResponse page (POST binding).
	cookie := br.cookie()
	lr := cms.logoutRequest(a.Subject.NameID.Value, a.AuthnStatements[0].SessionIndex)
	action, form = crossSite(PathSLO, lr).must(t, 200, "SAMLResponse").form(t)
	if action != "https://cms.example/slo" || form.Get("RelayState") != "rs" {
		t.Fatalf("LogoutResponse to %s with RelayState %q", action, form.Get("RelayState"))
	}
	if _, err := h.store.Get(context.Background(), cookie.Value); err == nil {
		t.Fatal("the session outlived the cross-site LogoutRequest")
	}
}
