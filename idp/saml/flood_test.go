package saml

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
)

// TestAttackSSOFloodFromOneIP floods /saml/sso with fresh AuthnRequests
// from 127.0.0.2 over TLS: past the burst every start is refused with 429
// and Retry-After, counted by route and audited once per episode, the pending store
// holds the burst only, and the citizen's AuthnRequest from 127.0.0.1 still
// reaches "Accedi con TS/CNS". An overlong RelayState is a 400 before
// anything is stored.
func TestAttackSSOFloodFromOneIP(t *testing.T) {
	const burst, flood = 4, 60
	h := newHarness(t, func(o *idp.Options) { o.Limits = idp.Limits{PerIPRate: 0.001, PerIPBurst: burst} })
	sp := h.newSP("cms", spOptions{})
	h.start([]ServiceProvider{sp.cfg})
	ctx := context.Background()
	before, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}

	attacker := h.client()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	attacker.Transport.(*http.Transport).DialContext = d.DialContext
	got := map[int]int{}
	for range flood {
		resp, err := attacker.Get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), "relay", ""))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && (resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "Troppe richieste")) {
			t.Fatalf("429 without Retry-After or its page:\n%s", body)
		}
	}
	if got[http.StatusOK] != burst || got[http.StatusTooManyRequests] != flood-burst {
		t.Fatalf("answers by status = %v; want %d pages and %d refusals", got, burst, flood-burst)
	}
	if n := h.rec.note("rate_limited//saml/sso"); n != flood-burst {
		t.Fatalf("rate_limited_total{route=/saml/sso} = %d, want %d", n, flood-burst)
	}
	pending := h.eph.(interface{ Len(string) int })
	if n := pending.Len(idp.PendingNamespace); n != burst {
		t.Fatalf("pending requests held = %d, want %d", n, burst)
	}
	after, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Limit: 100000})
	if err != nil || len(after) != len(before)+1 || after[0].Kind != registry.KindRateLimited ||
		!strings.HasPrefix(after[0].RemoteIP, "127.0.0.2") || !strings.Contains(string(after[0].Detail), "/saml/sso") {
		t.Fatalf("the flood wrote %d audit events (%v), newest %+v; want one rate_limited event from 127.0.0.2 on /saml/sso (the first refusal of the episode)",
			len(after)-len(before), err, after[0])
	}

	resp, err := h.client().Get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), "relay", ""))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/cns/login?req=") {
		t.Fatalf("the citizen's start from another IP: %d\n%s", resp.StatusCode, body)
	}

	resp, err = h.client().Get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), strings.Repeat("r", maxRelayState+1), ""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || pending.Len(idp.PendingNamespace) != burst+1 {
		t.Fatalf("overlong RelayState: %d, %d pending", resp.StatusCode, pending.Len(idp.PendingNamespace))
	}
}
