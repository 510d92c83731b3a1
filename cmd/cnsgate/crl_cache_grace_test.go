package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// TestRestartServesCachedCRLUntilNextUpdatePlusGrace: revocation.cache_dir
// across a restart with the CA's distribution point down, under failure
// closed, at the edges of crl_grace (1h). A cached CRL 30 minutes past
// its nextUpdate still answers (good and revoked); one 2 hours past it is
// ignored at start and every login is refused as revocation_unavailable.
func TestRestartServesCachedCRLUntilNextUpdatePlusGrace(t *testing.T) {
	r := newCRLFaultRig(t)
	now := time.Now()
	r.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(-25 * time.Hour), NextUpdate: now.Add(-30 * time.Minute)})
	s := r.start(t, io.Discard)
	expectAccepted(t, s, r.card(t, "citizen"))
	file := r.demoCAFile(t)
	s.cancel()
	// A CRL of the same CA past nextUpdate + grace, for later.
	r.crl.SetOptions(cnstest.CRLServerOptions{ThisUpdate: now.Add(-26 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)})
	rec := httptest.NewRecorder()
	r.crl.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ca.crl", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("CRL server: %d", rec.Code)
	}
	expired := rec.Body.Bytes()
	r.srv.Close()

	s = r.start(t, io.Discard)
	expectAccepted(t, s, r.card(t, "citizen"))
	expectRevoked(t, s, r.card(t, "revoked"))
	s.cancel()

	if err := os.WriteFile(file, expired, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s = r.start(t, logs)
	if l := logs.String(); !strings.Contains(l, "cached CRL ignored") || !strings.Contains(l, file) {
		t.Fatalf("the cached CRL past nextUpdate + grace was not refused:\n%s", grepLines(l, "revocation"))
	}
	refusedUnavailable(t, s, "crl", "connection refused")
	t.Logf("%s", grepLines(logs.String(), "cached CRL ignored"))
}
