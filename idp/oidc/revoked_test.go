package oidc_test

import (
	"context"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// checkerCache is the revocation checker's cache-only lookup as idp asks
// it (cmd/cnsgate wires the same).
type checkerCache struct{ c *revocation.Checker }

func (k checkerCache) CardRevoked(issuerKeyID, issuer, serial string) (bool, bool) {
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return false, false
	}
	ski, _ := hex.DecodeString(issuerKeyID)
	return k.c.Revoked(ski, issuer, n)
}

// TestAttackRevokedCardSessionReused: the citizen logs in with a good
// card and the relying party gets tokens; then the CA revokes the card and
// the checker's cache takes the CRL listing it from a loopback CRL server,
// with no sweep to end the session (OnRevoked unset). Each later use of
// the session or its grants over the network — SSO with prompt=none, the
// refresh grant, /userinfo, /introspect — is refused, the session is ended
// with cause revoked (counted, audited, the relying party told through its
// back-channel), and nothing is issued.
func TestAttackRevokedCardSessionReused(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(t *testing.T, h *harness, br *browser, access, refresh string)
	}{
		{"fail/sso-prompt-none", func(t *testing.T, h *harness, br *browser, _, _ string) {
			_, challenge := newVerifier()
			loc := br.authorize(h.authURL("esenzioni", challenge, url.Values{"prompt": {"none"}}))
			if loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
				t.Fatalf("SSO of a revoked card's session: %s", loc)
			}
		}},
		{"fail/refresh", func(t *testing.T, h *harness, _ *browser, _, refresh string) {
			if status, body := h.refresh("esenzioni", refresh); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Fatalf("refresh of a revoked card's grant: %d %v", status, body)
			}
		}},
		{"fail/userinfo", func(t *testing.T, h *harness, _ *browser, access, _ string) {
			if status := h.userinfo(access); status != http.StatusUnauthorized {
				t.Fatalf("/userinfo with a revoked card's token: %d", status)
			}
		}},
		{"fail/introspect", func(t *testing.T, h *harness, _ *browser, access, _ string) {
			if _, body := h.postJSON("/introspect", url.Values{"token": {access}}, "esenzioni", secretBasic); body["active"] != false {
				t.Fatalf("/introspect of a revoked card's token: %v", body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { revokedCardSessionReused(t, tc.use) })
	}
}

func revokedCardSessionReused(t *testing.T, use func(t *testing.T, h *harness, br *browser, access, refresh string)) {
	ctx := context.Background()
	ca, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		t.Fatal(err)
	}
	crlSrv := httptest.NewServer(ca.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour}))
	t.Cleanup(crlSrv.Close)
	chk, err := revocation.New(revocation.Options{Mode: revocation.ModeCRL,
		CRLURLs: map[string][]string{ca.Cert.Subject.CommonName: {crlSrv.URL + "/ca.crl"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chk.Close)
	h := newHarness(t, harnessOptions{ca: ca, revocation: checkerCache{chk}})
	card := h.citizenCard()
	if res := chk.Check(ctx, card.Cert, ca.Cert); res.Status != revocation.StatusGood {
		t.Fatalf("the card before revocation: %+v", res)
	}
	br := h.browser(card)
	code, verifier := h.code(br, "esenzioni")
	access, refresh, _ := h.tokens(h.exchange("esenzioni", code, verifier))
	live, err := h.store.ListByFiscalCode(ctx, citizenCF)
	if err != nil || len(live) != 1 || live[0].IssuerKeyID != hex.EncodeToString(ca.Cert.SubjectKeyId) {
		t.Fatalf("sessions after login: %+v, %v", live, err)
	}
	hash := live[0].IDHash

	// The CRL now lists the card; the cache has it, nobody swept.
	ca.Revoke(card.Cert.SerialNumber, time.Now().Add(-time.Minute), 1)
	if err := chk.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if revoked, known := chk.Revoked(ca.Cert.SubjectKeyId, "", card.Cert.SerialNumber); !revoked || !known {
		t.Fatal("the cache does not list the card")
	}
	if h.rec.endedBy("revoked") != 0 {
		t.Fatal("the session was ended before it was used")
	}

	use(t, h, br, access, refresh)

	if live, err := h.store.ListByFiscalCode(ctx, citizenCF); err != nil || len(live) != 0 {
		t.Fatalf("sessions after the refused use: %+v, %v", live, err)
	}
	if n := h.rec.endedBy("revoked"); n != 1 {
		t.Fatalf("sessions ended as revoked: %d, want 1", n)
	}
	select {
	case got := <-h.rp.received:
		if got.client != "esenzioni" || strings.Count(got.token, ".") != 2 {
			t.Fatalf("back-channel logout: %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the relying party was not told of the end")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindSessionEnd, FiscalCode: citizenCF})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 1 && events[0].SessionHash == hash && strings.Contains(string(events[0].Detail), `"cause":"revoked"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session_end audit events: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
