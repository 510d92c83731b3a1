package saml

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/sessions"
)

// refusalFixture is one identity provider with SPs of every signing policy.
type refusalFixture struct {
	h      *harness
	open   *testSP // signing optional
	strict *testSP // require_signed_requests, two ACSs
	meta   *testSP // AuthnRequestsSigned="true" in its metadata
	down   string  // entity id of an SP whose metadata_url fails
	other  *testSP // not configured: a stranger's key
}

func newRefusalFixture(t *testing.T) *refusalFixture {
	h := newHarness(t)
	f := &refusalFixture{h: h}
	f.open = h.newSP("open", spOptions{})
	f.strict = h.newSP("strict", spOptions{requireSigned: true, acs: []string{"https://strict.example/acs", "https://strict.example/acs2"}})
	f.meta = h.newSP("meta", spOptions{signedMeta: true})
	f.other = h.newSP("mallory", spOptions{})
	broken := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)
	f.down = "https://down.example/sp"
	h.start([]ServiceProvider{f.open.cfg, f.strict.cfg, f.meta.cfg,
		{EntityID: f.down, MetadataURL: broken.URL + "/metadata", AttributeProfile: ProfileSPID, NameIDFormat: NameIDPersistent}})
	return f
}

// do sends a request without following redirects (but submitting the
// identity provider's re-post of a cookieless POST, as a browser would).
func (f *refusalFixture) do(t *testing.T, req *http.Request) page {
	t.Helper()
	c := f.h.client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	if action, fields, ok := p.repost(t); ok {
		return f.do(t, post(action, fields))
	}
	return p
}

func get(u string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, u, nil)
	return r
}

func post(u string, v url.Values) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// rawRedirect is a Redirect-binding request of arbitrary bytes.
func (f *refusalFixture) rawRedirect(xml []byte) *http.Request {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(xml)
	fw.Close()
	return get(f.h.public.URL + PathSSO + "?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes())))
}

// TestReplay sends the same AuthnRequest twice, in each binding: the
// second is refused (RequestDenied at the SP's ACS) while the first could
// still be accepted.
func TestReplay(t *testing.T) {
	f := newRefusalFixture(t)
	redirect := f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{}), "", "")
	f.do(t, get(redirect)).must(t, 200, "Accedi con TS/CNS")
	f.h.takeLogs()
	f.checkDenied(t, f.do(t, get(redirect)), ErrReplay)

	el := f.strict.signXML(f.strict.authnRequest(authnOpts{}), dsig.RSASHA256SignatureMethod)
	form := postValues(t, el, "")
	f.do(t, post(f.h.public.URL+PathSSO, form)).must(t, 200, "Accedi con TS/CNS")
	f.h.takeLogs()
	f.checkDenied(t, f.do(t, post(f.h.public.URL+PathSSO, form)), ErrReplay)

	// The same ID from another SP is another request.
	other := f.open.authnRequest(authnOpts{id: el.SelectAttrValue("ID", "")})
	f.do(t, get(f.open.redirect(PathSSO, other, "", ""))).must(t, 200)
}

// failingEphemeral is a store that cannot remember request ids.
type failingEphemeral struct{ sessions.Ephemeral }

func (failingEphemeral) PutNew(context.Context, string, string, []byte, time.Duration) (bool, error) {
	return false, errors.New("redis: connection refused")
}

// TestStoreOutage: when request ids cannot be remembered, the citizen
// reads "temporarily unavailable" (503), not "invalid request".
func TestStoreOutage(t *testing.T) {
	h := newHarness(t)
	sp := h.newSP("cms", spOptions{})
	h.eph = failingEphemeral{h.eph}
	h.start([]ServiceProvider{sp.cfg})
	resp, err := h.client().Get(sp.redirect(PathSSO, sp.authnRequest(authnOpts{}), "", ""))
	if err != nil {
		t.Fatal(err)
	}
	readPage(t, resp).must(t, http.StatusServiceUnavailable, "temporaneamente non disponibile")
}
