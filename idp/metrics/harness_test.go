package metrics_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/metrics"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// env is a running login service wired as cmd/cnsgate wires it: public and
// card listeners over real TLS on loopback, memory sessions, a SQLite
// registry, the real revocation checker on a CRL file of the test CA, and
// the metrics served on a plain-HTTP admin listener.
type env struct {
	t      *testing.T
	env    *idptest.Env
	m      *metrics.Metrics
	ca     *cnstest.CA
	reg    *sqlstore.DB
	public *httptest.Server
	cns    *httptest.Server
	admin  *httptest.Server
	roots  *x509.CertPool
	logs   *syncBuffer
}

type envOptions struct {
	auditSink   string
	revealCF    bool
	clients     []string
	serviceProv []string
}

// newEnv starts the service for cards of ca; the CRL it loads lists what
// ca has revoked so far.
func newEnv(t *testing.T, ca *cnstest.CA, o envOptions) *env {
	t.Helper()
	e := &env{t: t, ca: ca, logs: &syncBuffer{}}
	trust := x509cns.NewTrustStore()
	trust.Add(ca.Cert, "test")
	e.m = metrics.New(metrics.Options{Version: "test", Issuers: metrics.IssuerLabels(trust.Anchors()),
		Clients: o.clients, ServiceProviders: o.serviceProv})

	now := time.Now()
	crl, err := ca.CRL(now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	crlPath := filepath.Join(t.TempDir(), "ca.crl")
	if err := os.WriteFile(crlPath, crl, 0o600); err != nil {
		t.Fatal(err)
	}
	chk, err := revocation.New(revocation.Options{Mode: revocation.ModeCRL, CRLFiles: []string{crlPath},
		Issuers: trust, Recorder: e.m})
	if err != nil {
		t.Fatal(err)
	}
	if err := chk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chk.Close)

	ie := idptest.New(t, idptest.Options{
		CA:       ca,
		Front:    idp.FrontDoorOptions{Revocation: gate{chk}, Recorder: e.m},
		Recorder: e.m,
		Logger:   slog.New(idp.LogHandler{Handler: slog.NewJSONHandler(e.logs, nil)}),
		Service: func(so *idp.Options) {
			so.AuditSink, so.AuditRevealFiscalCode = o.auditSink, o.revealCF
		},
		// As cmd/cnsgate wires it: Instrument directly around each mux.
		Wrap: e.m.Instrument,
	})
	e.env, e.reg, e.public, e.cns, e.roots = ie, ie.Registry, ie.Public, ie.CNS, ie.Roots

	adminMux := idp.AdminHandler(nil)
	adminMux.Handle("GET /metrics", e.m.Handler())
	e.admin = httptest.NewServer(adminMux)
	t.Cleanup(e.admin.Close)
	return e
}

// gate adapts the revocation checker to the front door.
type gate struct{ c *revocation.Checker }

func (g gate) Verify(ctx context.Context, chain []*x509.Certificate) error {
	_, _, err := g.c.VerifyChain(ctx, chain)
	return err
}

// browser is a client that presents card (or none) and follows redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser(card *cnstest.Card) *browser {
	tr := e.env.Transport(card)
	e.t.Cleanup(tr.CloseIdleConnections)
	return &browser{e: e, c: &http.Client{Jar: idptest.NewJar(), Transport: tr, Timeout: 15 * time.Second}}
}

// do sends req and checks the final status and that body holds text.
func (b *browser) do(req *http.Request, status int, text string) string {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status || !strings.Contains(string(body), text) {
		b.e.t.Fatalf("%s %s: status %d, want %d with %q:\n%s", req.Method, req.URL, resp.StatusCode, status, text, body)
	}
	return string(body)
}

func (b *browser) get(u string, status int, text string) string {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req, status, text)
}

func (b *browser) post(u string, form url.Values, status int, text string) string {
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if pu, err := url.Parse(u); err == nil {
		req.Header.Set("Origin", pu.Scheme+"://"+pu.Host)
	}
	return b.do(req, status, text)
}

func csrf(t *testing.T, body string) string { t.Helper(); return idptest.CSRF(t, body) }

// scrape reads /metrics from the admin listener, as Prometheus does, and
// parses it with expfmt.
func (e *env) scrape() (map[string]*dto.MetricFamily, string) {
	e.t.Helper()
	resp, err := http.Get(e.admin.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		e.t.Fatalf("/metrics: %d\n%s", resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return fams, string(body)
}

// counters flattens the cnsgate_ counters, and the _count of histograms,
// into series keys such as `cnsgate_registrations_total{outcome="success"}`.
func counters(fams map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "cnsgate_") {
			continue
		}
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(name, m)] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(name+"_count", m)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// gauge returns the value of a gauge series, and whether it exists.
func gauge(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	want := seriesKeyOf(name, labels...)
	for _, m := range fams[name].GetMetric() {
		if seriesKey(name, m) == want {
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func seriesKey(name string, m *dto.Metric) string {
	var kv []string
	for _, l := range m.GetLabel() {
		kv = append(kv, l.GetName(), l.GetValue())
	}
	return seriesKeyOf(name, kv...)
}

// seriesKeyOf builds a key from label name/value pairs, sorted by name.
func seriesKeyOf(name string, kv ...string) string {
	var ls []string
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, fmt.Sprintf("%s=%q", kv[i], kv[i+1]))
	}
	sort.Strings(ls)
	if len(ls) == 0 {
		return name
	}
	return name + "{" + strings.Join(ls, ",") + "}"
}

// deltas returns every series whose value changed between two scrapes.
func deltas(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// syncBuffer is a log sink written from the servers' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
