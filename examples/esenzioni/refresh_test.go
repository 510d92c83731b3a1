package esenzioni

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a settable clock for the relying party's sessions.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func newRefreshTest(t *testing.T) (*fakeOP, *browser, string, *testClock) {
	t.Helper()
	op := newFakeOP(t)
	clock := &testClock{}
	_, rp := newTestApp(t, op, func(c *Config) { c.Now = clock.now })
	b := newBrowser(t, rp)
	if p := b.get(t, rp.URL+"/login"); !strings.Contains(p.body, testCF) {
		t.Fatalf("not logged in: %d\n%s", p.code, p.body)
	}
	return op, b, rp.URL, clock
}

func (op *fakeOP) refreshCount() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.refreshes
}

// TestRefreshWhileProviderHonoursIt: the session's tokens are refreshed
// once its access token (300 s) has expired, not before; the refreshed ID
// token (no nonce) becomes the id_token_hint of "Esci"; once the provider
// refuses the refresh (the session ended there), the session ends here.
func TestRefreshWhileProviderHonoursIt(t *testing.T) {
	op, b, rp, clock := newRefreshTest(t)
	clock.advance(4 * time.Minute)
	if p := b.get(t, rp+"/"); !strings.Contains(p.body, testCF) || op.refreshCount() != 0 {
		t.Fatalf("before expiry: refreshes %d\n%s", op.refreshCount(), p.body)
	}
	clock.advance(2 * time.Minute)
	account := b.get(t, rp+"/")
	if !strings.Contains(account.body, testCF) || op.refreshCount() != 1 {
		t.Fatalf("after expiry: refreshes %d\n%s", op.refreshCount(), account.body)
	}
	if p := b.get(t, rp+"/"); !strings.Contains(p.body, testCF) || op.refreshCount() != 1 {
		t.Fatalf("right after the refresh: refreshes %d", op.refreshCount())
	}
	// "Esci" hints with the refreshed ID token, which has no nonce.
	b.stopAt(op.srv.URL)
	out := b.post(t, rp+"/logout", url.Values{"csrf": {csrfRE.FindStringSubmatch(account.body)[1]}})
	loc, _ := url.Parse(out.loc)
	if nonce, ok := idTokenClaim(t, loc.Query().Get("id_token_hint"), "nonce"); ok {
		t.Fatalf("id_token_hint is the login's ID token (nonce %v), not the refreshed one", nonce)
	}

	// A second session: the provider ends the citizen's session.
	b = newBrowser(t, b.rp)
	if p := b.get(t, rp+"/login"); !strings.Contains(p.body, testCF) {
		t.Fatalf("second login: %d", p.code)
	}
	op.mu.Lock()
	op.ended = true
	op.mu.Unlock()
	clock.advance(6 * time.Minute)
	if p := b.get(t, rp+"/"); strings.Contains(p.body, testCF) || !strings.Contains(p.body, "Accedi con TS/CNS") {
		t.Fatalf("a refused refresh left the session:\n%s", p.body)
	}
	if op.refreshCount() != 2 {
		t.Fatalf("refreshes %d, want 2", op.refreshCount())
	}
}

// TestRefreshRefusals: a refreshed ID token that fails verification or
// names another citizen or session ends the session.
func TestRefreshRefusals(t *testing.T) {
	for name, edit := range map[string]func(map[string]any){
		"fail/other-subject": func(c map[string]any) { c["sub"] = "someone-else" },
		"fail/other-sid":     func(c map[string]any) { c["sid"] = "sid-2" },
		"fail/audience":      func(c map[string]any) { c["aud"] = "cms" },
		"fail/nonce":         func(c map[string]any) { c["nonce"] = "replayed" },
	} {
		t.Run(name, func(t *testing.T) {
			op, b, rp, clock := newRefreshTest(t)
			op.mu.Lock()
			op.idTokenEdit = edit
			op.mu.Unlock()
			clock.advance(6 * time.Minute)
			if p := b.get(t, rp+"/"); strings.Contains(p.body, testCF) || op.refreshCount() != 1 {
				t.Fatalf("refreshes %d; session kept:\n%s", op.refreshCount(), p.body)
			}
		})
	}
}

// TestRefreshOnce: requests of one session arriving together after the
// access token expired refresh once (the provider takes a refresh token
// once; a second use would revoke them all).
func TestRefreshOnce(t *testing.T) {
	op, b, rp, clock := newRefreshTest(t)
	// A slow provider: every request arrives while the first refresh is
	// still under way.
	op.mu.Lock()
	op.refreshDelay = 300 * time.Millisecond
	op.mu.Unlock()
	clock.advance(6 * time.Minute)
	var wg sync.WaitGroup
	bodies := make([]string, 8)
	for i := range bodies {
		wg.Go(func() { bodies[i] = b.get(t, rp+"/").body })
	}
	wg.Wait()
	for i, body := range bodies {
		if !strings.Contains(body, testCF) {
			t.Fatalf("request %d lost the session:\n%s", i, body)
		}
	}
	if n := op.refreshCount(); n != 1 {
		t.Fatalf("refreshes %d, want 1", n)
	}
}

// idTokenClaim reads one claim of a compact JWS without verifying it.
func idTokenClaim(t *testing.T, raw, name string) (any, bool) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err == nil {
		err = json.Unmarshal(body, &claims)
	}
	if err != nil {
		t.Fatal(err)
	}
	v, ok := claims[name]
	return v, ok
}
