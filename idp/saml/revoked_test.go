package saml

import (
	"context"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// checkerCache is the revocation checker's cache-only lookup as idp asks
// it (cmd/cnsgate wires the same); without a checker nothing is revoked.
type checkerCache struct {
	c atomic.Pointer[revocation.Checker]
}

func (k *checkerCache) CardRevoked(issuerKeyID, issuer, serial string) (bool, bool) {
	c := k.c.Load()
	n, ok := new(big.Int).SetString(serial, 16)
	if c == nil || !ok {
		return false, false
	}
	ski, _ := hex.DecodeString(issuerKeyID)
	return c.Revoked(ski, issuer, n)
}

// TestAttackRevokedCardSSO: the citizen signs on at an SP with a good
// card; then the CA revokes it and the revocation checker's cache takes
// the CRL listing it from a loopback CRL server, with no sweep (OnRevoked
// unset). The next AuthnRequest (IsPassive) over the network gets
// NoPassive and no assertion: the session was refused and ended with
// cause revoked — counted, told to the notifiers, audited.
func TestAttackRevokedCardSSO(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	crlSrv := httptest.NewServer(h.ca.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour}))
	t.Cleanup(crlSrv.Close)
	chk, err := revocation.New(revocation.Options{Mode: revocation.ModeCRL,
		CRLURLs: map[string][]string{h.ca.Cert.Subject.CommonName: {crlSrv.URL + "/ca.crl"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chk.Close)
	h.revocation.c.Store(chk)
	cms := h.newSP("cms", spOptions{})
	h.start([]ServiceProvider{cms.cfg})
	card := h.citizen(citizenCF)
	if res := chk.Check(ctx, card.Cert, h.ca.Cert); res.Status != revocation.StatusGood {
		t.Fatalf("the card before revocation: %+v", res)
	}
	br := h.browser(card)
	_, form := br.cardLogin(br.get(cms.redirect(PathSSO, cms.authnRequest(authnOpts{}), "", ""))).form(t)
	if r := cms.read(form); r.status() != crewjam.StatusSuccess {
		t.Fatalf("first sign-on: %s", r.status())
	}
	id := br.cookie().Value
	if _, err := h.store.Get(ctx, id); err != nil {
		t.Fatal(err)
	}

	h.ca.Revoke(card.Cert.SerialNumber, time.Now().Add(-time.Minute), 1)
	if err := chk.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	el := cms.authnRequest(authnOpts{passive: true})
	_, form = br.get(cms.redirect(PathSSO, el, "", "")).must(t, 200).form(t)
	if r := cms.read(form); r.status() != crewjam.StatusNoPassive || r.assertion != nil {
		t.Fatalf("SSO of a revoked card's session: %s, assertion %v", r.status(), r.assertion != nil)
	}
	if _, err := h.store.Get(ctx, id); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("the session after the refusal: %v", err)
	}
	if n := h.rec.note("ended/revoked"); n != 1 {
		t.Fatalf("sessions ended as revoked: %d", n)
	}
	if got := h.notifications(); len(got) != 1 || got[0] != "revoked" {
		t.Fatalf("notifiers told %v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		events, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindSessionEnd, FiscalCode: citizenCF})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 1 && events[0].SessionHash == sessions.HashKey(id) && strings.Contains(string(events[0].Detail), `"cause":"revoked"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session_end audit events: %+v", events)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
