package idp_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/idptest"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// selfSignedCard is a card certificate signed by its own key: its issuer
// name is its subject, fiscal code included, and no trusted CA issued it.
func selfSignedCard(t *testing.T, cn string) *cnstest.Card {
	t.Helper()
	key := cnstest.MustKey(2048)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn, Organization: []string{"TS-CNS"}, Country: []string{"IT"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &cnstest.Card{Cert: cert, Key: key}
}

// TestLogsHoldNoFiscalCode runs the journeys over real TLS with every log
// line captured (debug level, no masking net): registration, login,
// logout, and refusals whose details quote a subject (a self-signed card
// naming the citizen in its issuer, a card from an untrusted CA, an
// expired card). No line may hold the fiscal code in full; the refusals
// are logged with it masked.
func TestLogsHoldNoFiscalCode(t *testing.T) {
	const cf = "RSSMRA85T10A562S"
	logs := &idptest.LogCapture{}
	h := newHarness(t, backends[0], harnessOptions{logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cf, GivenName: "MARIO", FamilyName: "ROSSI"})
	br := h.browser(card)
	h.register(br)
	welcome := h.login(br)
	br.post(h.public.URL+"/logout", url.Values{"csrf": {welcome.csrf(t)}}, h.public.URL).must(t, 200, "rimuovi la tessera")

	other, err := cnstest.NewRegionalCA("Umbria")
	if err != nil {
		t.Fatal(err)
	}
	for _, refused := range []*cnstest.Card{
		selfSignedCard(t, cf+"/6038004550366343.aGFzaA=="),
		other.MustIssueCard(cnstest.CardOptions{FiscalCode: cf}),
		h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: cf, NotBefore: time.Now().AddDate(-7, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}),
	} {
		if p := h.browser(refused).get(h.cns.URL + "/cns/login"); p.status < 400 {
			t.Fatalf("refused card answered %d", p.status)
		}
	}
	h.svc.Close(t.Context())

	idptest.CheckNoFiscalCodes(t, logs)
	all := strings.Join(logs.Lines(), "\n")
	masked := x509cns.MaskFiscalCode(cf)
	for _, want := range []string{"reason=unknown_issuer", "reason=expired", "CN=" + masked + "/6038004550366343"} {
		if !strings.Contains(all, want) {
			t.Errorf("the log lacks %q:\n%s", want, all)
		}
	}
}

// TestLogHandlerMasksFiscalCodes: the net of idp.LogHandler masks fiscal
// codes in the message, strings, errors, Stringers, groups, LogValuers and
// WithAttrs (the audit line's code revealed by audit.reveal_fiscal_code is
// left alone: idp/metrics' TestAuditSink proves it through this handler).
func TestLogHandlerMasksFiscalCodes(t *testing.T) {
	const cf = "RSSMRA85T10A562S"
	logs := &idptest.LogCapture{}
	logger := slog.New(idp.LogHandler{Handler: slog.NewJSONHandler(logs, nil)}).With("card", "CN="+cf+"/1")
	logger.Info("refused "+cf, "detail", "issuer CN="+strings.ToLower(cf), "err", errors.New("x509: "+cf),
		slog.Group("g", "subject", cf), "stringer", stringer(cf), "n", 3)
	idptest.CheckNoFiscalCodes(t, logs)
	if got := strings.Join(logs.Lines(), ""); strings.Count(got, "RSS************S")+strings.Count(got, "rss************s") != 6 || !strings.Contains(got, `"n":3`) {
		t.Fatalf("masked line: %s", got)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestAuditLinesCarryTheirTime: every audit line of the journeys
// (registration, login, logout, a refused card) carries the time the event
// happened, in UTC, never the zero time, and the row stored for it in the
// audit table has the same time.
func TestAuditLinesCarryTheirTime(t *testing.T) {
	logs := &idptest.LogCapture{}
	h := newHarness(t, backends[0], harnessOptions{logger: slog.New(slog.NewJSONHandler(logs, nil))})
	start := time.Now().UTC()

	card := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", GivenName: "MARIO", FamilyName: "ROSSI"})
	br := h.browser(card)
	h.register(br)
	welcome := h.login(br)
	br.post(h.public.URL+"/logout", url.Values{"csrf": {welcome.csrf(t)}}, h.public.URL).must(t, 200, "rimuovi la tessera")
	expired := h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: "RSSMRA85T10A562S", NotBefore: time.Now().AddDate(-7, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)})
	h.browser(expired).get(h.cns.URL + "/cns/login")
	h.svc.Close(t.Context())
	end := time.Now().UTC()

	logged := map[time.Time]bool{} // to the microsecond the table keeps
	for _, l := range logs.Lines() {
		var line struct {
			Msg   string `json:"msg"`
			Event struct {
				At   string `json:"at"`
				Kind string `json:"kind"`
			} `json:"event"`
		}
		if json.Unmarshal([]byte(l), &line) != nil || line.Msg != "audit" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, line.Event.At)
		if err != nil || at.Before(start) || at.After(end) || !strings.HasSuffix(line.Event.At, "Z") {
			t.Errorf("audit line %s: event.at %q is not a UTC time between %s and %s", line.Event.Kind, line.Event.At, start, end)
		}
		logged[at.Truncate(time.Microsecond)] = true
	}
	for _, kind := range []string{"registration", "login", "session_end"} {
		if !strings.Contains(strings.Join(logs.Lines(), "\n"), `"kind":"`+kind+`"`) {
			t.Errorf("no audit line of kind %s", kind)
		}
	}
	rows, err := h.reg.QueryAudit(context.Background(), registry.AuditQuery{Since: start.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no audit rows stored")
	}
	for _, e := range rows {
		if !logged[e.At.UTC().Truncate(time.Microsecond)] {
			t.Errorf("audit row %s at %s has no log line of the same time", e.Kind, e.At)
		}
	}
}
