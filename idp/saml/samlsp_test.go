package saml

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// crewjamSP is crewjam's samlsp middleware protecting /hello on its own
// TLS server: an SP nobody here wrote, which signs its AuthnRequests and
// publishes an encryption key.
type crewjamSP struct {
	srv *httptest.Server
	m   *samlsp.Middleware
	cfg ServiceProvider
}

func newCrewjamSP(t *testing.T, h *harness, signatureMethod string) *crewjamSP {
	t.Helper()
	s := &crewjamSP{srv: httptest.NewUnstartedServer(nil)}
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	u, _ := url.Parse(s.srv.URL)
	key := cnstest.MustKey(2048)
	m, err := samlsp.New(samlsp.Options{
		URL: *u, EntityID: s.srv.URL + "/saml/metadata", Key: key, Certificate: selfSigned(t, key, "crewjam sp"),
		SignRequest: true, HTTPClient: h.client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.ServiceProvider.SignatureMethod = signatureMethod // samlsp signs with RSA-SHA1 by default
	m.ServiceProvider.AuthnNameIDFormat = crewjam.PersistentNameIDFormat
	s.m = m
	md, err := xml.Marshal(m.ServiceProvider.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = ServiceProvider{
		EntityID: m.ServiceProvider.EntityID, MetadataFile: h.writeFile("crewjam.xml", md),
		AttributeProfile: ProfileSPID, NameIDFormat: NameIDPersistent,
	}
	mux := http.NewServeMux()
	mux.Handle("/saml/", m)
	mux.Handle("/hello", m.RequireAccount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := samlsp.SessionFromContext(r.Context()).(samlsp.SessionWithAttributes)
		_ = json.NewEncoder(w).Encode(sess.GetAttributes())
	})))
	s.srv.Config.Handler = mux
	return s
}

// idpMetadata gives the SP the identity provider's published metadata.
func (s *crewjamSP) idpMetadata(t *testing.T, h *harness) {
	t.Helper()
	u, _ := url.Parse(h.public.URL + PathMetadata)
	md, err := samlsp.FetchMetadata(context.Background(), h.client(), *u)
	if err != nil {
		t.Fatal(err)
	}
	s.m.ServiceProvider.IDPMetadata = md
}

// TestCrewjamServiceProvider logs in to crewjam's samlsp through the card
// login: signed HTTP-Redirect AuthnRequest, encrypted and signed
// assertion, attributes as the SP reads them.
func TestCrewjamServiceProvider(t *testing.T) {
	h := newHarness(t)
	sp := newCrewjamSP(t, h, dsig.RSASHA256SignatureMethod)
	h.start([]ServiceProvider{sp.cfg})
	sp.idpMetadata(t, h)
	if md := h.idp.sps.byID[sp.cfg.EntityID].meta.Load(); md.encryption == nil || !md.wantsSigned {
		t.Fatal("the samlsp metadata should ask for signed requests and publish an encryption key")
	}
	// The test card is a citizen card: AnyCard lets its login carry the roles.
	if err := h.reg.PutOperator(context.Background(), registry.Operator{FiscalCode: citizenCF, Roles: []string{"asl-operator"}, AnyCard: true}); err != nil {
		t.Fatal(err)
	}
	br := h.browser(h.citizen(citizenCF))

	login := br.get(sp.srv.URL + "/hello")
	action, form := br.cardLogin(login).must(t, 200).form(t)
	if action != sp.srv.URL+"/saml/acs" {
		t.Fatalf("form posts to %s", action)
	}
	if r := (&testSP{h: h, key: sp.m.ServiceProvider.Key.(*rsa.PrivateKey)}).read(form); !r.encrypted || r.cipher != algAES256CBC {
		t.Fatalf("assertion encrypted %v with %s", r.encrypted, r.cipher)
	}
	hello := br.post(action, form, h.public.URL).must(t, 200)
	var attrs map[string][]string
	if err := json.Unmarshal([]byte(hello.body), &attrs); err != nil {
		t.Fatalf("%v: %s", err, hello.body)
	}
	want := map[string]string{"fiscalNumber": "TINIT-" + citizenCF, "name": "MARIO", "familyName": "ROSSI", "region": "Toscana", "role": "asl-operator"}
	for k, v := range want {
		if len(attrs[k]) != 1 || attrs[k][0] != v {
			t.Fatalf("samlsp read %s=%v, want %s (all: %v)", k, attrs[k], v, attrs)
		}
	}
	// A second visit is served from the SP's own session.
	br.get(sp.srv.URL+"/hello").must(t, 200, "TINIT-"+citizenCF)
}

// TestCrewjamServiceProviderSHA1 is samlsp with its default RSA-SHA1
// request signature: refused, and samlsp is told at its ACS with a
// RequestDenied Response, which it takes as a failed login.
func TestCrewjamServiceProviderSHA1(t *testing.T) {
	h := newHarness(t)
	sp := newCrewjamSP(t, h, dsig.RSASHA1SignatureMethod)
	h.start([]ServiceProvider{sp.cfg})
	sp.idpMetadata(t, h)
	br := h.browser(nil)
	action, form := br.get(sp.srv.URL+"/hello").must(t, 200, "SAMLResponse").form(t)
	if logs := h.takeLogs(); !strings.Contains(logs, ErrWeakAlgorithm.Error()) || !strings.Contains(logs, "rsa-sha1") ||
		!strings.Contains(logs, "status=urn:oasis:names:tc:SAML:2.0:status:RequestDenied") {
		t.Fatalf("log: %s", logs)
	}
	if !strings.HasPrefix(action, sp.srv.URL) {
		t.Fatalf("RequestDenied posted to %s", action)
	}
	br.post(action, form, h.public.URL).must(t, http.StatusForbidden)
}
