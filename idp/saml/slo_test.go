package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// soapSPs is the SOAP SingleLogoutService of the test SPs: /<name> answers
// each LogoutRequest with Success after failing fail[name] times.
type soapSPs struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  map[string][]*etree.Element // LogoutRequests by SP name
	fail map[string]int
}

func newSOAPSPs(t *testing.T) *soapSPs {
	s := &soapSPs{got: map[string][]*etree.Element{}, fail: map[string]int{}}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *soapSPs) url(name string) string { return s.srv.URL + "/" + name }

func (s *soapSPs) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	body, _ := io.ReadAll(r.Body)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	lr := doc.FindElement("./Envelope/Body/LogoutRequest")
	if lr == nil {
		http.Error(w, "no LogoutRequest", 400)
		return
	}
	s.mu.Lock()
	s.got[name] = append(s.got[name], detach(lr))
	failing := s.fail[name] > 0
	if failing {
		s.fail[name]--
	}
	s.mu.Unlock()
	if failing {
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, `<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>`+
		`<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `+
		`ID="_r1" Version="2.0" IssueInstant="`+time.Now().UTC().Format(time.RFC3339)+`" InResponseTo="`+lr.SelectAttrValue("ID", "")+`">`+
		`<saml:Issuer>https://`+name+`.example/sp</saml:Issuer>`+
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>`+
		`</samlp:LogoutResponse></soap11:Body></soap11:Envelope>`)
}

func (s *soapSPs) requests(name string) []*etree.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*etree.Element(nil), s.got[name]...)
}

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

// TestSPInitiatedLogout: a signed LogoutRequest from cms, in each binding,
// ends the session after the citizen confirms; cms gets a signed
// LogoutResponse, esenzioni a back-channel LogoutRequest, portal (browser
// bindings only) nothing, and idp's other notifiers are told.
func TestSPInitiatedLogout(t *testing.T) {
	for _, binding := range []string{bindingRedirect, bindingPost} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			h := newHarness(t)
			soap := newSOAPSPs(t)
			cms := h.newSP("cms", spOptions{requireSigned: true, slo: []endpoint{
				{binding, "https://cms.example/slo"}, {crewjam.SOAPBinding, soap.url("cms")}}})
			esenzioni := h.newSP("esenzioni", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("esenzioni")}}})
			portal := h.newSP("portal", spOptions{slo: []endpoint{{bindingRedirect, "https://portal.example/slo"}}})
			h.start([]config.ServiceProvider{cms.cfg, esenzioni.cfg, portal.cfg})
			br := h.browser(h.citizen(citizenCF))
			got := h.loggedIn(br, cms, esenzioni, portal)
			a := got[cms].assertion

			lr := cms.logoutRequest(a.Subject.NameID.Value, a.AuthnStatements[0].SessionIndex)
			var confirm page
			if binding == bindingRedirect {
				confirm = br.get(cms.redirect(PathSLO, lr, "slo-state", dsig.RSASHA256SignatureMethod))
			} else {
				cms.signXML(lr, dsig.RSASHA256SignatureMethod)
				confirm = br.post(h.public.URL+PathSLO, postValues(t, lr, "slo-state"), "https://cms.example")
			}
			confirm.must(t, 200, "Vuoi uscire?")
			if br.cookie() == nil {
				t.Fatal("the session ended before the citizen confirmed")
			}
			br.stopAtSPs()
			req, _ := http.NewRequest("POST", h.public.URL+"/logout", strings.NewReader(url.Values{"csrf": {confirm.csrf(t)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", h.public.URL)
			resp, err := br.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			p := readPage(t, resp)
			loc := resp.Header.Get("Location")
			if binding == bindingRedirect && (p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "https://cms.example/slo?SAMLResponse=")) {
				t.Fatalf("after logout: %d %q", p.status, loc)
			}
			if binding == bindingRedirect && !strings.Contains(loc, "RelayState=slo-state") {
				t.Fatalf("RelayState lost: %s", loc)
			}
			res := h.readLogoutResponse(t, p, loc)
			if res.InResponseTo != lr.SelectAttrValue("ID", "") || res.Status.StatusCode.Value != crewjam.StatusSuccess || res.Destination != "https://cms.example/slo" {
				t.Fatalf("LogoutResponse %+v", res)
			}
			if br.cookie() != nil {
				t.Fatal("session cookie kept")
			}
			if n := h.notifications(); len(n) != 1 || n[0] != "logout" {
				t.Fatalf("notifications %v", n)
			}
			waitFor(t, func() bool { return h.rec.note(NotificationSAML+"/"+ResultOK) == 1 })
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

// checkBackChannel checks a LogoutRequest sent to an SP's SOAP endpoint.
func checkBackChannel(t *testing.T, h *harness, el *etree.Element, a *crewjam.Assertion, reason string) {
	t.Helper()
	signed, err := verifyByIdP(h.idpCert, mustXML(t, el))
	if err != nil {
		t.Fatalf("back-channel LogoutRequest signature: %v", err)
	}
	x, err := parseLogoutRequestXML(signed)
	if err != nil {
		t.Fatal(err)
	}
	if x.NameID.Value != a.Subject.NameID.Value || len(x.SessionIndexs) != 1 || x.SessionIndexs[0] != a.AuthnStatements[0].SessionIndex ||
		x.Issuer.Value != h.idp.EntityID() || el.SelectAttrValue("Reason", "") != reason {
		t.Fatalf("back-channel LogoutRequest: %s", signed)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogoutRequestCases covers LogoutRequests that end nothing.
func TestLogoutRequestCases(t *testing.T) {
	h := newHarness(t)
	cms := h.newSP("cms", spOptions{requireSigned: true, slo: []endpoint{{bindingRedirect, "https://cms.example/slo"}}})
	open := h.newSP("open", spOptions{slo: []endpoint{{bindingPost, "https://open.example/slo"}}})
	mallory := h.newSP("mallory", spOptions{})
	h.start([]config.ServiceProvider{cms.cfg, open.cfg})
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

// TestLogoutElsewhere: a logout started at /logout (or by expiry,
// revocation) sends every SAML participant with a SOAP endpoint a signed
// LogoutRequest, retried a bounded number of times and counted.
func TestLogoutElsewhere(t *testing.T) {
	h := newHarness(t)
	soap := newSOAPSPs(t)
	flaky := h.newSP("flaky", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("flaky")}}})
	dead := h.newSP("dead", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("dead")}}})
	h.start([]config.ServiceProvider{flaky.cfg, dead.cfg})
	soap.fail["flaky"] = 2 // answers on the third attempt
	soap.fail["dead"] = 100

	br := h.browser(h.citizen(citizenCF))
	got := h.loggedIn(br, flaky, dead)
	confirm := br.get(h.public.URL+"/logout").must(t, 200, "Vuoi uscire?")
	br.post(h.public.URL+"/logout", url.Values{"csrf": {confirm.csrf(t)}}, h.public.URL).must(t, 200, "rimuovi la tessera")

	waitFor(t, func() bool {
		return h.rec.note(NotificationSAML+"/"+ResultOK) == 1 && h.rec.note(NotificationSAML+"/"+ResultFailed) == 1
	})
	if n := len(soap.requests("flaky")); n != 3 {
		t.Fatalf("flaky got %d attempts", n)
	}
	if n := len(soap.requests("dead")); n != 3 {
		t.Fatalf("dead got %d attempts, want the bound of 3", n)
	}
	checkBackChannel(t, h, soap.requests("flaky")[2], got[flaky].assertion, "urn:oasis:names:tc:SAML:2.0:logout:user")

	// Expiry tells the SPs with the global-timeout reason.
	br2 := h.browser(h.citizen(cnstest.FiscalCode(3)))
	got2 := h.loggedIn(br2, flaky)
	sess, err := h.store.Get(context.Background(), br2.cookie().Value)
	if err != nil {
		t.Fatal(err)
	}
	h.idp.SessionEnded(context.Background(), sess, "idle")
	waitFor(t, func() bool { return h.rec.note(NotificationSAML+"/"+ResultOK) == 2 })
	reqs := soap.requests("flaky")
	checkBackChannel(t, h, reqs[len(reqs)-1], got2[flaky].assertion, "urn:oasis:names:tc:SAML:2.0:logout:global-timeout")
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
