package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/sessions"
)

// logoutRequest is a LogoutRequest from sp for the NameID and
// SessionIndex the SP received.
func (sp *testSP) logoutRequest(nameID, sessionIndex string) *etree.Element {
	el := etree.NewElement("samlp:LogoutRequest")
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", "_"+randomHex(sp.h.t))
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", time.Now().UTC().Format(time.RFC3339))
	el.CreateAttr("Destination", sp.h.public.URL+PathSLO)
	el.CreateElement("saml:Issuer").SetText(sp.entityID)
	n := el.CreateElement("saml:NameID")
	n.CreateAttr("Format", string(crewjam.PersistentNameIDFormat))
	n.SetText(nameID)
	if sessionIndex != "" {
		el.CreateElement("samlp:SessionIndex").SetText(sessionIndex)
	}
	return el
}

// stopAtSPs makes the browser stop at redirects that leave the loopback
// servers (the SPs' endpoints exist only in metadata).
func (b *browser) stopAtSPs() {
	b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Hostname() != "127.0.0.1" {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// loggedIn logs the citizen in to each SP in turn and returns what each
// SP received.
func (h *harness) loggedIn(br *browser, sps ...*testSP) map[*testSP]*result {
	out := map[*testSP]*result{}
	for i, sp := range sps {
		p := br.get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), "", dsig.RSASHA256SignatureMethod))
		if i == 0 {
			p = br.cardLogin(p)
		}
		_, form := p.must(h.t, 200).form(h.t)
		out[sp] = sp.read(form)
	}
	return out
}

// readLogoutResponse checks the LogoutResponse the IdP sends the browser
// with: a signed Redirect-binding URL, or a page posting it.
func (h *harness) readLogoutResponse(t *testing.T, p page, loc string) *crewjam.LogoutResponse {
	t.Helper()
	var raw []byte
	if p.status == http.StatusSeeOther {
		u, _ := url.Parse(loc)
		m, err := decodeRedirect(u.RawQuery, paramResponse)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyRedirect(m, []*x509.Certificate{h.idpCert}, time.Now()); err != nil {
			t.Fatalf("LogoutResponse query signature: %v", err)
		}
		raw = m.xml
	} else {
		_, form := p.must(t, 200).form(t)
		var err error
		if raw, err = verifyByIdP(h.idpCert, mustB64(t, form.Get(paramResponse))); err != nil {
			t.Fatalf("LogoutResponse signature: %v", err)
		}
	}
	var lr crewjam.LogoutResponse
	if err := xml.Unmarshal(raw, &lr); err != nil {
		t.Fatal(err)
	}
	if lr.Issuer.Value != h.idp.EntityID() {
		t.Fatalf("LogoutResponse issuer %q", lr.Issuer.Value)
	}
	return &lr
}

// logoutAnswer is the LogoutResponse sp answers the IdP's LogoutRequest
// inResponseTo with.
func (sp *testSP) logoutAnswer(inResponseTo, status string) *etree.Element {
	el := etree.NewElement("samlp:LogoutResponse")
	el.CreateAttr("xmlns:samlp", nsProtocol)
	el.CreateAttr("xmlns:saml", nsAssertion)
	el.CreateAttr("ID", "_"+randomHex(sp.h.t))
	el.CreateAttr("Version", "2.0")
	el.CreateAttr("IssueInstant", time.Now().UTC().Format(time.RFC3339))
	el.CreateAttr("Destination", sp.h.public.URL+PathSLO)
	el.CreateAttr("InResponseTo", inResponseTo)
	el.CreateElement("saml:Issuer").SetText(sp.entityID)
	el.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	return el
}

// frontRequest reads the front-channel LogoutRequest the browser carries
// to sp (a Redirect-binding URL, or a page posting it), checks the IdP's
// signature and that it names what sp received, and returns its ID and
// the RelayState that names the chain.
func (h *harness) frontRequest(t *testing.T, sp *testSP, p page, loc string, a *crewjam.Assertion) (id, relayState string) {
	t.Helper()
	var raw []byte
	if p.status == http.StatusSeeOther {
		if !strings.HasPrefix(loc, "https://"+strings.TrimPrefix(strings.TrimSuffix(sp.entityID, "/sp"), "https://")+"/slo?SAMLRequest=") {
			t.Fatalf("front channel: redirected to %q, not %s's SingleLogoutService", loc, sp.entityID)
		}
		u, _ := url.Parse(loc)
		m, err := decodeRedirect(u.RawQuery, paramRequest)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyRedirect(m, []*x509.Certificate{h.idpCert}, time.Now()); err != nil {
			t.Fatalf("front-channel LogoutRequest query signature: %v", err)
		}
		raw, relayState = m.xml, m.relayState
	} else {
		action, form := p.must(t, 200, "SAMLRequest").form(t)
		if !strings.HasSuffix(action, "/slo") {
			t.Fatalf("front channel: posted to %q", action)
		}
		var err error
		if raw, err = verifyByIdP(h.idpCert, mustB64(t, form.Get(paramRequest))); err != nil {
			t.Fatalf("front-channel LogoutRequest signature: %v", err)
		}
		relayState = form.Get("RelayState")
	}
	x, err := parseLogoutRequestXML(raw)
	if err != nil {
		t.Fatal(err)
	}
	if x.Issuer.Value != h.idp.EntityID() || x.NameID.Value != a.Subject.NameID.Value ||
		len(x.SessionIndexs) != 1 || x.SessionIndexs[0] != a.AuthnStatements[0].SessionIndex || relayState == "" {
		t.Fatalf("front-channel LogoutRequest %+v, RelayState %q", x, relayState)
	}
	return x.ID, relayState
}

// noFollow sends req from the browser without following redirects.
func (b *browser) noFollow(t *testing.T, req *http.Request) (page, string) {
	t.Helper()
	c := *b.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readPage(t, resp), resp.Header.Get("Location")
}

// TestSPInitiatedLogout: a signed LogoutRequest from cms, in each binding,
// ends the session at once (no "Vuoi uscire?"); esenzioni gets a
// back-channel LogoutRequest; portal (HTTP-Redirect only) and kiosk
// (HTTP-POST only) get a front-channel LogoutRequest through the browser,
// each answer collected; then cms gets its signed LogoutResponse, and
// idp's other notifiers are told.
func TestSPInitiatedLogout(t *testing.T) {
	for _, binding := range []string{bindingRedirect, bindingPost} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			h := newHarness(t)
			soap := newSOAPSPs(t)
			cms := h.newSP("cms", spOptions{requireSigned: true, slo: []endpoint{
				{binding, "https://cms.example/slo"}, {crewjam.SOAPBinding, soap.url("cms")}}})
			esenzioni := h.newSP("esenzioni", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("esenzioni")}}})
			portal := h.newSP("portal", spOptions{slo: []endpoint{{bindingRedirect, "https://portal.example/slo"}}})
			kiosk := h.newSP("kiosk", spOptions{slo: []endpoint{{bindingPost, "https://kiosk.example/slo"}}})
			h.start([]ServiceProvider{cms.cfg, esenzioni.cfg, portal.cfg, kiosk.cfg})
			br := h.browser(h.citizen(citizenCF))
			got := h.loggedIn(br, cms, esenzioni, portal, kiosk)
			a := got[cms].assertion

			cookie := br.cookie()
			lr := cms.logoutRequest(a.Subject.NameID.Value, a.AuthnStatements[0].SessionIndex)
			var req *http.Request
			if binding == bindingRedirect {
				req = get(cms.redirect(PathSLO, lr, "slo-state", dsig.RSASHA256SignatureMethod))
			} else {
				cms.signXML(lr, dsig.RSASHA256SignatureMethod)
				req = post(h.public.URL+PathSLO, postValues(t, lr, "slo-state"))
			}
			p, loc := br.noFollow(t, req)
			if action, fields, ok := p.repost(t); ok { // the cross-site POST comes back with the cookie
				r := post(action, fields)
				r.Header.Set("Origin", h.public.URL)
				p, loc = br.noFollow(t, r)
			}
			if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, h.public.URL+PathSLO+"?fc=") {
				t.Fatalf("signed LogoutRequest answered %d %q, want the front-channel chain:\n%s", p.status, loc, p.body)
			}
			if br.cookie() != nil {
				t.Fatal("session cookie kept")
			}
			if _, err := h.store.Get(context.Background(), cookie.Value); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("the session is still there after a signed LogoutRequest: %v", err)
			}
			// The chain: portal by Redirect, kiosk by POST, in the order
			// they joined; each answers Success.
			p, loc = br.noFollow(t, get(loc))
			for _, sp := range []*testSP{portal, kiosk} {
				id, relay := h.frontRequest(t, sp, p, loc, got[sp].assertion)
				answer := sp.logoutAnswer(id, crewjam.StatusSuccess)
				if sp == portal {
					p, loc = br.noFollow(t, get(sp.redirectParam(PathSLO, paramResponse, answer, relay, dsig.RSASHA256SignatureMethod)))
				} else {
					p, loc = br.noFollow(t, post(h.public.URL+PathSLO, postParam(t, paramResponse, sp.signXML(answer, dsig.RSASHA256SignatureMethod), relay)))
				}
			}
			if binding == bindingPost {
				if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, h.public.URL+PathSLO+"?done=") {
					t.Fatalf("after the chain: %d %q", p.status, loc)
				}
				p, loc = br.noFollow(t, get(loc))
			} else if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "https://cms.example/slo?SAMLResponse=") || !strings.Contains(loc, "RelayState=slo-state") {
				t.Fatalf("after the chain: %d %q", p.status, loc)
			}
			res := h.readLogoutResponse(t, p, loc)
			if res.InResponseTo != lr.SelectAttrValue("ID", "") || res.Status.StatusCode.Value != crewjam.StatusSuccess || res.Destination != "https://cms.example/slo" {
				t.Fatalf("LogoutResponse %+v", res)
			}
			if n := h.notifications(); len(n) != 1 || n[0] != "logout" {
				t.Fatalf("notifications %v", n)
			}
			waitFor(t, func() bool { return h.rec.note(NotificationSAML+"/"+ResultOK) == 1 })
			if n := h.rec.note(idp.DeliverySAMLFrontChannel + "/" + ResultOK); n != 2 {
				t.Fatalf("front-channel deliveries counted ok: %d, want 2", n)
			}
			if n := len(soap.requests("cms")); n != 0 {
				t.Fatalf("the initiating SP got %d back-channel requests", n)
			}
			reqs := soap.requests("esenzioni")
			if len(reqs) != 1 {
				t.Fatalf("esenzioni got %d LogoutRequests", len(reqs))
			}
			checkBackChannel(t, h, reqs[0], got[esenzioni].assertion, "urn:oasis:names:tc:SAML:2.0:logout:user")
		})
	}
}

// TestUnsignedLogoutRequestConfirmed: an unsigned LogoutRequest (from an
// SP allowed not to sign) may come from anywhere, so the citizen confirms
// with "Vuoi uscire?" before the session ends.
func TestUnsignedLogoutRequestConfirmed(t *testing.T) {
	h := newHarness(t)
	open := h.newSP("open", spOptions{slo: []endpoint{{bindingRedirect, "https://open.example/slo"}}})
	h.start([]ServiceProvider{open.cfg})
	br := h.browser(h.citizen(citizenCF))
	a := h.loggedIn(br, open)[open].assertion
	lr := open.logoutRequest(a.Subject.NameID.Value, a.AuthnStatements[0].SessionIndex)
	confirm := br.get(open.redirect(PathSLO, lr, "", "")).must(t, 200, "Vuoi uscire?")
	if _, err := h.store.Get(context.Background(), br.cookie().Value); err != nil {
		t.Fatalf("the session ended before the citizen confirmed: %v", err)
	}
	r := post(h.public.URL+"/logout", url.Values{"csrf": {confirm.csrf(t)}})
	r.Header.Set("Origin", h.public.URL)
	p, loc := br.noFollow(t, r)
	if lr := h.readLogoutResponse(t, p, loc); lr.Status.StatusCode.Value != crewjam.StatusSuccess {
		t.Fatalf("LogoutResponse status %s", lr.Status.StatusCode.Value)
	}
	if n := h.notifications(); len(n) != 1 || n[0] != "logout" {
		t.Fatalf("notifications %v", n)
	}
}

// TestLogoutRequestCases covers LogoutRequests that end nothing.
func TestLogoutRequestCases(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{requireSigned: true, slo: []endpoint{{bindingRedirect, "https://cms.example/slo"}}})
	open := h.newSP("open", spOptions{slo: []endpoint{{bindingPost, "https://open.example/slo"}}})
	mallory := h.newSP("mallory", spOptions{})
	h.start([]ServiceProvider{cms.cfg, open.cfg})
	rs256 := dsig.RSASHA256SignatureMethod

	t.Run("ok/no-session-answers-at-once", func(t *testing.T) {
		br := h.browser(nil)
		br.stopAtSPs()
		resp, err := br.c.Get(cms.redirect(PathSLO, cms.logoutRequest("someone", ""), "", rs256))
		if err != nil {
			t.Fatal(err)
		}
		p := readPage(t, resp)
		if lr := h.readLogoutResponse(t, p, resp.Header.Get("Location")); lr.Status.StatusCode.Value != crewjam.StatusSuccess {
			t.Fatalf("status %s", lr.Status.StatusCode.Value)
		}
	})

	br := h.browser(h.citizen(citizenCF))
	got := h.loggedIn(br, cms, open)

	t.Run("fail/other-nameid-leaves-the-session", func(t *testing.T) {
		br.stopAtSPs()
		defer func() { br.c.CheckRedirect = nil }()
		resp, err := br.c.Get(cms.redirect(PathSLO, cms.logoutRequest("not-the-citizen", ""), "", rs256))
		if err != nil {
			t.Fatal(err)
		}
		lr := h.readLogoutResponse(t, readPage(t, resp), resp.Header.Get("Location"))
		if lr.Status.StatusCode.StatusCode == nil || lr.Status.StatusCode.StatusCode.Value != crewjam.StatusUnknownPrincipal {
			t.Fatalf("status %+v", lr.Status.StatusCode)
		}
		if _, err := h.store.Get(context.Background(), br.cookie().Value); err != nil {
			t.Fatalf("session ended: %v", err)
		}
	})
	a := got[cms].assertion
	refusals := []struct {
		name string
		req  func() page
	}{
		{"fail/unsigned-where-required", func() page {
			return br.get(cms.redirect(PathSLO, cms.logoutRequest(a.Subject.NameID.Value, ""), "", ""))
		}},
		{"fail/wrong-key", func() page {
			return br.get(mallory.redirect(PathSLO, cms.logoutRequest(a.Subject.NameID.Value, ""), "", rs256))
		}},
		{"fail/wrong-destination", func() page {
			lr := cms.logoutRequest(a.Subject.NameID.Value, "")
			lr.CreateAttr("Destination", h.public.URL+PathSSO)
			return br.get(cms.redirect(PathSLO, lr, "", rs256))
		}},
		{"fail/unknown-sp", func() page {
			return br.get(mallory.redirect(PathSLO, mallory.logoutRequest(a.Subject.NameID.Value, ""), "", ""))
		}},
		{"fail/response-instead-of-request", func() page {
			return br.get(h.public.URL + PathSLO + "?SAMLResponse=AAAA")
		}},
		{"fail/unknown-done-key", func() page { return br.get(h.public.URL + PathSLO + "?done=nothing") }},
		{"fail/replayed", func() page {
			u := open.redirect(PathSLO, open.logoutRequest("not-the-citizen", ""), "", "")
			br.get(u).must(t, 200) // answered with UnknownPrincipal
			return br.get(u)
		}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			tt.req().must(t, 400, "Richiesta non valida")
			if _, err := h.store.Get(context.Background(), br.cookie().Value); err != nil {
				t.Fatalf("session ended: %v", err)
			}
		})
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
