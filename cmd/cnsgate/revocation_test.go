package main

import (
	"testing"

	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

type countingCRLRecorder struct {
	revocation.NopRecorder
	failed []string
}

func (c *countingCRLRecorder) CRLRefreshFailed(issuer string) { c.failed = append(c.failed, issuer) }

// TestAuditedRevocation: a failed CRL refresh is counted and audited.
func TestAuditedRevocation(t *testing.T) {
	rec := &countingCRLRecorder{}
	var audited []string
	a := auditedRevocation{Recorder: rec, audit: func(issuer string) { audited = append(audited, issuer) }}
	var r revocation.Recorder = a
	r.CRLRefreshFailed("Regione Demo - CA Cittadini")
	if len(rec.failed) != 1 || len(audited) != 1 || audited[0] != "Regione Demo - CA Cittadini" {
		t.Fatalf("counted %v, audited %v", rec.failed, audited)
	}
}
