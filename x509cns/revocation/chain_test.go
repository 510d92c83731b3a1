package revocation

import (
	"crypto/x509"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// subEnv is env's CA as a root with a sub-CA under it: the sub-CA's
// certificate names the root's CRL and responder, its cards name the
// sub-CA's own CRL.
type subEnv struct {
	*env
	sub    *cnstest.CA
	subCRL *cnstest.CRLServer
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	e := newEnv(t)
	key, err := cnstest.SharedKey(2048, slotOther)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := e.ca.NewSubCA("Toscana SUBCA1", cnstest.WithKey(key))
	if err != nil {
		t.Fatal(err)
	}
	se := &subEnv{env: e, sub: sub, subCRL: sub.CRLServer(cnstest.CRLServerOptions{})}
	srv := httptest.NewServer(se.subCRL)
	t.Cleanup(srv.Close)
	sub.CRLDistributionPoints = []string{srv.URL + "/sub.crl"}
	sub.OCSPServer = nil
	return se
}

func (se *subEnv) chain(t *testing.T) []*x509.Certificate {
	t.Helper()
	c, err := se.sub.IssueCard(cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{c.Cert, se.sub.Cert, se.ca.Cert}
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		setup    func(se *subEnv, chain []*x509.Certificate)
		reason   x509cns.Reason
		at       int
		leafAsks bool // the leaf's CRL was fetched
	}{
		{"ok/good-chain", ModeCRL, func(*subEnv, []*x509.Certificate) {}, "", 0, true},
		{"ok/mode-none", ModeNone, func(se *subEnv, ch []*x509.Certificate) {
			se.ca.Revoke(ch[1].SerialNumber, se.clock.Now().Add(-time.Hour), 2)
		}, "", 0, false},
		{"fail/revoked-subca-crl", ModeCRL, func(se *subEnv, ch []*x509.Certificate) {
			se.ca.Revoke(ch[1].SerialNumber, se.clock.Now().Add(-time.Hour), 2)
		}, x509cns.ReasonRevoked, 1, false},
		{"fail/revoked-subca-ocsp", ModeOCSP, func(se *subEnv, ch []*x509.Certificate) {
			se.ca.Revoke(ch[1].SerialNumber, se.clock.Now().Add(-time.Hour), 2)
		}, x509cns.ReasonRevoked, 1, false},
		{"fail/revoked-leaf", ModeCRL, func(se *subEnv, ch []*x509.Certificate) {
			se.sub.Revoke(ch[0].SerialNumber, se.clock.Now().Add(-time.Hour), 1)
		}, x509cns.ReasonRevoked, 0, true},
		{"fail/subca-crl-unreachable", ModeCRL, func(se *subEnv, _ []*x509.Certificate) {
			se.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: 404})
		}, x509cns.ReasonRevocationUnavailable, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			se := newSubEnv(t)
			chain := se.chain(t)
			tc.setup(se, chain)
			c := se.checker(t, Options{Mode: tc.mode})
			r, at, err := c.VerifyChain(bg(), chain)
			if got := x509cns.ReasonOf(err); got != tc.reason || at != tc.at {
				t.Fatalf("VerifyChain = %q at %d (%v), want %q at %d; result %+v", got, at, err, tc.reason, tc.at, r)
			}
			if tc.at == 1 && !strings.Contains(err.Error(), `intermediate CA "Toscana SUBCA1"`) {
				t.Fatalf("refusal does not name the intermediate: %v", err)
			}
			if asked := se.subCRL.Requests() > 0; asked != tc.leafAsks {
				t.Fatalf("leaf's CRL fetched: %v, want %v", asked, tc.leafAsks)
			}
			// inspect decides on CheckChain's results as a login does.
			results := c.CheckChain(bg(), chain)
			i, derr := c.DecideChain(chain, results)
			if x509cns.ReasonOf(derr) != tc.reason || (derr != nil && i != tc.at) {
				t.Fatalf("DecideChain = %q at %d, want %q at %d", x509cns.ReasonOf(derr), i, tc.reason, tc.at)
			}
		})
	}
}

func TestVerifyChainTooShort(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.checker(t, Options{Mode: ModeCRL}).VerifyChain(bg(), []*x509.Certificate{e.card(t)})
	if x509cns.ReasonOf(err) != x509cns.ReasonRevocationUnavailable {
		t.Fatalf("a chain without issuer: %v", err)
	}
}
