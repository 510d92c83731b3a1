package tslsync

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// listServer is a real HTTP server on loopback serving a trusted list the
// test changes, or failing as told.
type listServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	status   int           // 0: 200 with body
	hang     time.Duration // before answering (hangBody: after half the body)
	hangBody bool
	etag     string
	requests atomic.Int32
}

func newListServer(t testing.TB) *listServer {
	ls := &listServer{}
	ls.Server = httptest.NewServer(http.HandlerFunc(ls.serve))
	t.Cleanup(ls.Close)
	return ls
}

func (ls *listServer) set(f func(ls *listServer)) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.status, ls.hang, ls.hangBody, ls.etag = 0, 0, false, ""
	f(ls)
}

func (ls *listServer) serve(w http.ResponseWriter, r *http.Request) {
	ls.requests.Add(1)
	ls.mu.Lock()
	body, status, hang, hangBody, etag := ls.body, ls.status, ls.hang, ls.hangBody, ls.etag
	ls.mu.Unlock()
	if etag != "" {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
	}
	wait := func() {
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
		}
	}
	if hang > 0 && !hangBody {
		wait()
	}
	if status != 0 {
		http.Error(w, "list server says no", status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	if hangBody {
		_, _ = w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		wait()
		return
	}
	_, _ = w.Write(body)
}

// recorder records what a Syncer counts.
type recorder struct {
	mu       sync.Mutex
	outcomes map[string]int
	verified time.Time
	anchors  int
}

func (r *recorder) TSLFetch(outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.outcomes == nil {
		r.outcomes = make(map[string]int)
	}
	r.outcomes[outcome]++
}

func (r *recorder) TSLState(verifiedAt, _ time.Time, anchors int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verified, r.anchors = verifiedAt, anchors
}

func (r *recorder) count(outcome string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outcomes[outcome]
}

// fixture is the PKI of a trusted list like AgID's: a CNS CA (IdV,
// granted), a withdrawn CNS CA, a qualified-signature CA (CA/QC) and a
// time-stamping service, none of which but the first may become an anchor.
type fixture struct {
	cns, withdrawn, qc *cnstest.CA
	tsa                *x509.Certificate
	signer, other      *cnstest.TSLSigner
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	must := func(ca *cnstest.CA, err error) *cnstest.CA {
		if err != nil {
			t.Fatal(err)
		}
		return ca
	}
	f := &fixture{
		cns:       must(cnstest.NewRegionalCA("Basilicata")),
		withdrawn: must(cnstest.NewRegionalCA("Calabria")),
		qc:        must(cnstest.NewRegionalCA("Firma Qualificata")),
	}
	f.tsa = f.qc.Cert
	var err error
	if f.signer, err = cnstest.NewTSLSigner("AgID TSL signer (test)"); err != nil {
		t.Fatal(err)
	}
	if f.other, err = cnstest.NewTSLSigner("Someone else"); err != nil {
		t.Fatal(err)
	}
	return f
}

// list is issue seq of the trusted list, issued seq hours after a fixed
// time; withCNS false leaves the granted CNS CA out.
func (f *fixture) list(seq int, withCNS bool) cnstest.TrustedList {
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	var svcs []cnstest.TSLService
	if withCNS {
		svcs = append(svcs, cnstest.TSLService{Type: cnstest.TSLServiceIdV, Name: "Regione Basilicata - CA Cittadini", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{f.cns.Cert}})
	}
	return cnstest.TrustedList{ID: "tsl-it", Sequence: seq, IssuedAt: base.Add(time.Duration(seq) * time.Hour), Providers: []cnstest.TSLProvider{
		{Name: "Regione Basilicata", Services: svcs},
		{Name: "Regione Calabria", Services: []cnstest.TSLService{
			{Type: cnstest.TSLServiceIdV, Name: "Regione Calabria - CA Cittadini", Status: cnstest.TSLStatusWithdrawn, Certs: []*x509.Certificate{f.withdrawn.Cert}}}},
		{Name: "Firmatore S.p.A.", Services: []cnstest.TSLService{
			{Type: cnstest.TSLServiceCAQC, Name: "CA Firma Qualificata", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{f.qc.Cert}},
			{Type: cnstest.TSLServiceTSA, Name: "TSA", Status: cnstest.TSLStatusGranted, Certs: []*x509.Certificate{f.tsa}}}},
	}}
}
