package idp_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// countingRecorder counts what the flows record, for assertions.
type countingRecorder struct {
	mu     sync.Mutex
	spoofs int
	badFwd int
	logins map[string]int // outcome/reason
}

func (c *countingRecorder) LoginAttempt(outcome string, reason x509cns.Reason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logins == nil {
		c.logins = map[string]int{}
	}
	c.logins[outcome+"/"+string(reason)]++
}
func (c *countingRecorder) Registration(string)          {}
func (c *countingRecorder) SessionCreated()              {}
func (c *countingRecorder) SessionEnded(string)          {}
func (c *countingRecorder) CertValidation(time.Duration) {}
func (c *countingRecorder) ProxySpoof()                  { c.mu.Lock(); c.spoofs++; c.mu.Unlock() }
func (c *countingRecorder) ForwardedInvalid()            { c.mu.Lock(); c.badFwd++; c.mu.Unlock() }

func rfc9440(card *cnstest.Card) string {
	return ":" + base64.StdEncoding.EncodeToString(card.Cert.Raw) + ":"
}

// TestProxyHeaderFromTrustedPeer: behind a TLS-terminating proxy on a
// trusted address, the card arrives in the RFC 9440 header and logs in.
func TestProxyHeaderFromTrustedPeer(t *testing.T) {
	proxies, err := idp.NewTrustedProxies([]string{"127.0.0.1/32", "::1/128"}, idp.ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	h := newHarness(t, backends[0], harnessOptions{proxies: proxies, recorder: rec})
	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"})
	h.preRegister(card)

	br := h.browser(nil) // the proxy holds the TLS session with the card; it sends no client certificate
	req, _ := http.NewRequest("GET", h.cns.URL+"/cns/check", nil)
	req.Header.Set("Client-Cert", rfc9440(card))
	resp, err := br.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, 200, `"verdict":"accepted"`, "RSSMRA85T10A562S")

	// A trusted peer without the header presented no card, whatever its
	// own TLS connection carries.
	h.browser(card).get(h.cns.URL+"/cns/check").must(t, 403, "no_certificate")

	// A malformed header is refused with a precise reason.
	req, _ = http.NewRequest("GET", h.cns.URL+"/cns/check", nil)
	req.Header.Set("Client-Cert", ":not base64!:")
	resp, err = br.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, 403, "malformed_certificate")
	if rec.spoofs != 0 {
		t.Fatalf("spoofs counted from a trusted peer: %d", rec.spoofs)
	}
}

// TestProxyHeaderFromUntrustedPeer: the same header from an address outside
// proxy.trusted_cidrs is ignored, logged and counted; the request is judged
// from its own TLS connection.
func TestProxyHeaderFromUntrustedPeer(t *testing.T) {
	proxies, err := idp.NewTrustedProxies([]string{"10.0.0.0/8"}, idp.ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	rec := &countingRecorder{}
	h := newHarness(t, backends[0], harnessOptions{proxies: proxies, recorder: rec})
	victim := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S"})
	h.preRegister(victim)

	attacker := h.browser(nil)
	req, _ := http.NewRequest("GET", h.cns.URL+"/cns/login", nil)
	req.Header.Set("Client-Cert", rfc9440(victim))
	resp, err := attacker.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, 403, "non ha presentato alcun certificato")
	if rec.spoofs != 1 {
		t.Fatalf("spoof attempts counted: %d, want 1", rec.spoofs)
	}
	if attacker.cookie() != nil {
		t.Fatal("a spoofed header opened a session")
	}
	// An attacker with a card of their own still logs in as themselves only.
	own := h.ca.MustIssueCard(cnstest.CardOptions{})
	req, _ = http.NewRequest("GET", h.cns.URL+"/cns/check", nil)
	req.Header.Set("X-Forwarded-Client-Cert", `Cert="`+url.PathEscape(string(victim.CertPEM()))+`"`)
	resp, err = h.browser(own).c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	if p.status != 200 || !strings.Contains(p.body, own.FiscalCode) || strings.Contains(p.body, "RSSMRA85T10A562S") {
		t.Fatalf("untrusted XFCC changed the identity: %d %s", p.status, p.body)
	}
	if rec.spoofs != 2 {
		t.Fatalf("spoof attempts counted: %d, want 2", rec.spoofs)
	}
}
