package idp

import (
	"context"
	"net/http"
	"time"
)

// The state of revocation checking as the security team reads it (the
// console, GET /admin/revocation): for each CA its CRL's age, next update,
// entries and last fetch error, and for each OCSP responder how its answers
// went. cmd/cnsgate adapts x509cns/revocation's Checker to it; idp never
// scrapes the metrics.

// CRLStatus is the CRL cnsgate holds for one CA.
type CRLStatus struct {
	Issuer     string    `json:"issuer"`
	Loaded     bool      `json:"loaded"`
	Source     string    `json:"source,omitempty"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	AgeSeconds float64   `json:"age_seconds"`
	Entries    int       `json:"entries"`
	LastError  string    `json:"last_error,omitempty"`
	Failures   int       `json:"consecutive_failures"`
	NextFetch  time.Time `json:"next_fetch,omitzero"`
}

// OCSPStatus is how one OCSP responder has answered since the start.
type OCSPStatus struct {
	Responder   string    `json:"responder"`
	Answers     int       `json:"answers"`
	Failures    int       `json:"failures"`
	LastAnswer  time.Time `json:"last_answer,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
}

// RevocationStatus reads the state of the revocation caches; it never
// fetches.
type RevocationStatus interface {
	CRLStatus() []CRLStatus
	OCSPStatus() []OCSPStatus
}

// AdminOption adds an optional part to the admin API.
type AdminOption func(*adminAPI)

// WithRevocationStatus mounts GET /admin/revocation.
func WithRevocationStatus(rs RevocationStatus) AdminOption {
	return func(a *adminAPI) { a.revocation = rs }
}

// AdminActionRevocation is GET /admin/revocation.
const AdminActionRevocation = "revocation_status"

func (a *adminAPI) revocationRoutes(mux *http.ServeMux) {
	if a.revocation != nil {
		mux.Handle("GET /admin/revocation", a.guard(AdminActionRevocation, a.revocationStatus))
	}
}

// revocationStatus is GET /admin/revocation:
// 200 {"crls":[CRLStatus...],"ocsp":[OCSPStatus...]}.
func (a *adminAPI) revocationStatus(_ context.Context, _ *http.Request, c *adminCall) {
	crls, ocsp := a.revocation.CRLStatus(), a.revocation.OCSPStatus()
	if crls == nil {
		crls = []CRLStatus{}
	}
	if ocsp == nil {
		ocsp = []OCSPStatus{}
	}
	c.ok(map[string]any{"crls": crls, "ocsp": ocsp})
}
