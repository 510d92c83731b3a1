package oidc_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// attackerClient sends every request from 127.0.0.2, another loopback
// address than the citizen's 127.0.0.1, and follows no redirect.
func (h *harness) attackerClient() *http.Client {
	c := h.httpClient()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	c.Transport.(*http.Transport).DialContext = d.DialContext
	return c
}

// flood sends n /authorize requests of client "esenzioni" from c, each
// with the longest state and nonce allowed, and counts the answers by
// status; a 429 must say when to come back.
func (h *harness) flood(c *http.Client, n int) map[int]int {
	h.t.Helper()
	_, challenge := newVerifier()
	u := h.authURL("esenzioni", challenge, url.Values{"state": {strings.Repeat("s", 512)}, "nonce": {strings.Repeat("n", 512)}})
	got := map[int]int{}
	for range n {
		resp, err := c.Get(u)
		if err != nil {
			h.t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests &&
			(resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "Troppe richieste di accesso")) {
			h.t.Fatalf("429 without Retry-After or without its page: %q\n%s", resp.Header.Get("Retry-After"), body)
		}
	}
	return got
}

// regexpReq finds the pending request id in the login page's button.
var regexpReq = regexp.MustCompile(`/cns/login\?req=([A-Za-z0-9_-]+)`)

func (h *harness) pending() *sessions.MemoryEphemeral {
	return h.env.Ephemeral.(*sessions.MemoryEphemeral)
}

// auditCount is the number of audit events in the registry.
func (h *harness) auditCount() int {
	h.t.Helper()
	evs, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{Limit: 100000})
	if err != nil {
		h.t.Fatal(err)
	}
	return len(evs)
}

// TestAttackAuthorizeFloodFromOneIP floods /authorize from one client IP
// over TLS: after the burst every start is refused with 429 and
// Retry-After, counted by route and audited once (the first refusal of
// the episode, naming the client), not once per request; the pending store holds
// no more than the burst; and a citizen from another IP still logs in.
func TestAttackAuthorizeFloodFromOneIP(t *testing.T) {
	const burst, flood = 5, 300
	h := newHarness(t, harnessOptions{limits: idp.Limits{PerIPRate: 1, PerIPBurst: burst}, pendingMax: 50})
	auditBefore := h.auditCount()

	got := h.flood(h.attackerClient(), flood)
	if got[http.StatusOK] != burst || got[http.StatusTooManyRequests] != flood-burst {
		t.Fatalf("answers by status = %v; want %d pages and %d refusals (429)", got, burst, flood-burst)
	}
	if n := h.rec.count(h.rec.limited, "/authorize"); n != flood-burst {
		t.Fatalf("rate_limited_total{route=/authorize} = %d, want %d", n, flood-burst)
	}
	if n := h.pending().Len(idp.PendingNamespace); n != burst {
		t.Fatalf("pending requests held = %d, want %d (the burst)", n, burst)
	}
	h.requireThrottledOnce(auditBefore, "/authorize")

	// The clock moves one second: one more start is allowed, the next not.
	h.clock.Advance(time.Second)
	if got := h.flood(h.attackerClient(), 2); got[http.StatusOK] != 1 || got[http.StatusTooManyRequests] != 1 {
		t.Fatalf("after a second of refill: %v; want one page and one 429", got)
	}

	// The citizen, from 127.0.0.1, logs in with the card and gets tokens.
	code, verifier := h.code(h.citizen(), "esenzioni")
	status, body := h.exchange("esenzioni", code, verifier)
	if status != http.StatusOK || body["id_token"] == nil {
		b, _ := json.Marshal(body)
		t.Fatalf("the citizen's login after the flood: token endpoint %d %s", status, b)
	}
}

// requireThrottledOnce checks that the audit trail got exactly one event
// since before: the rate_limited failure of the flood's first refusal on
// route, naming the attacker's address.
func (h *harness) requireThrottledOnce(before int, route string) {
	h.t.Helper()
	evs, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{Limit: 100000})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(evs)-before != 1 {
		h.t.Fatalf("the flood wrote %d audit events, want 1 (the first refusal of the episode)", len(evs)-before)
	}
	var e registry.Event
	for _, ev := range evs {
		if ev.Kind == registry.KindRateLimited {
			e = ev
		}
	}
	if e.Outcome != registry.OutcomeFailure || e.Reason != "rate_limited" || !strings.HasPrefix(e.RemoteIP, "127.0.0.2") ||
		!strings.Contains(string(e.Detail), route) {
		h.t.Fatalf("audit event of the flood = %+v (detail %s); want rate_limited from 127.0.0.2 on %s", e, e.Detail, route)
	}
}

// TestAttackAuthorizeFloodPastTheCap floods /authorize with the per-IP
// limit far away: the memory store keeps at most its cap of pending
// requests, evicting the oldest, and a citizen's login started last still
// completes.
func TestAttackAuthorizeFloodPastTheCap(t *testing.T) {
	const capacity, flood = 50, 400
	h := newHarness(t, harnessOptions{limits: idp.Limits{PerIPRate: 1000, PerIPBurst: 100000}, pendingMax: capacity})
	if got := h.flood(h.attackerClient(), flood); got[http.StatusOK] != flood {
		t.Fatalf("answers by status = %v; want %d pages", got, flood)
	}
	eph := h.pending()
	if n, ev := eph.Len(idp.PendingNamespace), eph.Evicted(idp.PendingNamespace); n != capacity || ev != flood-capacity {
		t.Fatalf("pending requests held %d, evicted %d; want %d and %d", n, ev, capacity, flood-capacity)
	}
	code, verifier := h.code(h.citizen(), "esenzioni")
	if status, _ := h.exchange("esenzioni", code, verifier); status != http.StatusOK {
		t.Fatalf("the citizen's login after the flood: token endpoint %d", status)
	}
}

// TestAuthorizeStoresOnlyTheEssentials sends the largest request the
// provider accepts and reads the stored pending request back: what resume
// needs, within a small bound, and nothing of prompt, max_age or
// acr_values.
func TestAuthorizeStoresOnlyTheEssentials(t *testing.T) {
	h := newHarness(t, harnessOptions{pendingMax: 10})
	_, challenge := newVerifier()
	u := h.authURL("esenzioni", challenge, url.Values{
		"state": {strings.Repeat("s", 512)}, "nonce": {strings.Repeat("n", 512)},
		"acr_values": {strings.Repeat("urn:x ", 340)}, "scope": {"openid " + strings.Repeat("profile ", 250)},
		"max_age": {"600"}, "ui_locales": {strings.Repeat("it ", 600)},
	})
	resp, err := h.httpClient().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexpReq.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("authorize: %d\n%s", resp.StatusCode, body)
	}
	raw, err := h.env.Ephemeral.Get(context.Background(), idp.PendingNamespace, m[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 1500 || strings.Contains(string(raw), "urn:x") || strings.Contains(string(raw), "max_age") {
		t.Fatalf("stored pending request (%d bytes): %s", len(raw), raw)
	}

	// One byte more of state is a precise refusal at the client's redirect URI.
	u = h.authURL("esenzioni", challenge, url.Values{"state": {strings.Repeat("s", 513)}})
	resp, err = h.httpClient().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("error_description") != "state is too long (513 bytes, at most 512)" {
		t.Fatalf("long state: %d %v", resp.StatusCode, loc)
	}
}
