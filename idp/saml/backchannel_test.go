package saml

import (
	"context"
	"errors"
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

	"github.com/cnsgate/cnsgate/idp"
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

func (s *soapSPs) failing(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[name] = n
}

func (s *soapSPs) requests(name string) []*etree.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*etree.Element(nil), s.got[name]...)
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

// TestLogoutElsewhere: a logout started at /logout (or by expiry,
// revocation) sends every SAML participant with a SOAP endpoint a signed
// LogoutRequest, retried a bounded number of times and counted.
func TestLogoutElsewhere(t *testing.T) {
	h := newHarness(t)
	soap := newSOAPSPs(t)
	flaky := h.newSP("flaky", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("flaky")}}})
	dead := h.newSP("dead", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("dead")}}})
	h.start([]ServiceProvider{flaky.cfg, dead.cfg})
	soap.failing("flaky", 2) // answers on the third attempt
	soap.failing("dead", 100)

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
	if err := h.svc.EndSession(context.Background(), sess, idp.CauseIdle); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.rec.note(NotificationSAML+"/"+ResultOK) == 2 })
	reqs := soap.requests("flaky")
	checkBackChannel(t, h, reqs[len(reqs)-1], got2[flaky].assertion, "urn:oasis:names:tc:SAML:2.0:logout:global-timeout")
}

// TestCloseAbandonsRetries: the login service's Close waits for
// deliveries until its context ends, then the remaining retries are
// dropped and counted as failed.
func TestCloseAbandonsRetries(t *testing.T) {
	h := newHarness(t, func(o *idp.Options) { o.Delivery.Backoff = func(int) time.Duration { return time.Hour } })
	soap := newSOAPSPs(t)
	dead := h.newSP("dead", spOptions{slo: []endpoint{{crewjam.SOAPBinding, soap.url("dead")}}})
	h.start([]ServiceProvider{dead.cfg})
	soap.failing("dead", 100)
	br := h.browser(h.citizen(citizenCF))
	h.loggedIn(br, dead)
	sess, err := h.store.Get(context.Background(), br.cookie().Value)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.EndSession(context.Background(), sess, idp.CauseLogout); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(soap.requests("dead")) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.svc.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second || h.rec.note(NotificationSAML+"/"+ResultFailed) != 1 {
		t.Fatalf("Close took %s; failures counted %d", d, h.rec.note(NotificationSAML+"/"+ResultFailed))
	}
}
