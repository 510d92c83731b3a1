package saml

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// statusDenied marks a refusal answered toward the SP: a form posting a
// signed Response with status RequestDenied to an ACS of its metadata.
const statusDenied = -1

// TestRefusals sends requests that must be refused. A request from an
// unknown SP, naming an ACS its metadata lacks, unreadable, or met by an
// outage gets an error page: status 400 (503 for unavailable metadata),
// never a redirect, never a form toward an ACS. A request from a known SP
// with a valid ACS whose signature, Destination or instant fails is
// answered at that ACS with RequestDenied, without RelayState.
func TestRefusals(t *testing.T) {
	f := newRefusalFixture(t)
	sso := f.h.public.URL + PathSSO
	rs256, rs1 := dsig.RSASHA256SignatureMethod, dsig.RSASHA1SignatureMethod
	one := 1
	seven := 7
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		why    error // the refusal the log must name
	}{
		{"ok/control-unsigned-open-sp", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{}), "", ""))
		}, http.StatusOK, nil},
		{"ok/control-acs-by-index", func(t *testing.T) *http.Request {
			el := f.strict.signXML(f.strict.authnRequest(authnOpts{acsIndex: &one}), rs256)
			return post(sso, postValues(t, el, ""))
		}, http.StatusOK, nil},
		{"fail/unknown-sp", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{issuer: "https://evil.example/sp"}), "", ""))
		}, 400, ErrUnknownSP},
		{"fail/no-issuer", func(t *testing.T) *http.Request {
			el := f.open.authnRequest(authnOpts{})
			el.RemoveChildAt(el.SelectElement("Issuer").Index())
			return get(f.open.redirect(PathSSO, el, "", ""))
		}, 400, ErrMalformed},
		{"fail/acs-not-in-metadata", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{acsURL: "https://evil.example/acs"}), "", ""))
		}, 400, ErrACS},
		{"fail/acs-index-unknown", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{acsIndex: &seven}), "", ""))
		}, 400, ErrACS},
		{"fail/acs-index-and-url", func(t *testing.T) *http.Request {
			el := f.open.authnRequest(authnOpts{acsIndex: &one})
			el.CreateAttr("AssertionConsumerServiceURL", f.open.acs)
			return get(f.open.redirect(PathSSO, el, "", ""))
		}, 400, ErrACS},
		{"fail/artifact-binding", func(t *testing.T) *http.Request {
			el := f.open.authnRequest(authnOpts{})
			el.CreateAttr("ProtocolBinding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact")
			return get(f.open.redirect(PathSSO, el, "", ""))
		}, 400, ErrACS},
		{"denied/unsigned-where-config-requires", func(t *testing.T) *http.Request {
			return get(f.strict.redirect(PathSSO, f.strict.authnRequest(authnOpts{}), "", ""))
		}, statusDenied, ErrUnsigned},
		{"denied/unsigned-where-metadata-asks", func(t *testing.T) *http.Request {
			return post(sso, postValues(t, f.meta.authnRequest(authnOpts{}), ""))
		}, statusDenied, ErrUnsigned},
		{"denied/wrong-key-redirect", func(t *testing.T) *http.Request {
			return get(f.other.redirect(PathSSO, f.strict.authnRequest(authnOpts{}), "", rs256))
		}, statusDenied, ErrBadSignature},
		{"denied/wrong-key-post", func(t *testing.T) *http.Request {
			return post(sso, postValues(t, f.other.signXML(f.strict.authnRequest(authnOpts{}), rs256), ""))
		}, statusDenied, ErrBadSignature},
		{"denied/signed-by-unsigning-sp-with-wrong-key", func(t *testing.T) *http.Request {
			// A signature is checked whenever present, required or not.
			return get(f.other.redirect(PathSSO, f.open.authnRequest(authnOpts{}), "", rs256))
		}, statusDenied, ErrBadSignature},
		{"denied/sha1-redirect", func(t *testing.T) *http.Request {
			return get(f.strict.redirect(PathSSO, f.strict.authnRequest(authnOpts{}), "", rs1))
		}, statusDenied, ErrWeakAlgorithm},
		{"denied/sha1-post", func(t *testing.T) *http.Request {
			return post(sso, postValues(t, f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs1), ""))
		}, statusDenied, ErrWeakAlgorithm},
		{"denied/relay-state-not-signed", func(t *testing.T) *http.Request {
			u := f.strict.redirect(PathSSO, f.strict.authnRequest(authnOpts{}), "signed-state", rs256)
			return get(strings.Replace(u, "RelayState=signed-state", "RelayState=forged-state", 1))
		}, statusDenied, ErrBadSignature},
		{"denied/tampered-after-signing", func(t *testing.T) *http.Request {
			el := f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs256)
			el.CreateAttr("AssertionConsumerServiceURL", "https://strict.example/acs2")
			return post(sso, postValues(t, el, ""))
		}, statusDenied, ErrBadSignature},
		{"denied/xsw-signed-request-wrapped", func(t *testing.T) *http.Request {
			signed := f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs256)
			forged := f.strict.authnRequest(authnOpts{acsURL: "https://strict.example/acs2"})
			forged.CreateElement("samlp:Extensions").AddChild(signed)
			return post(sso, postValues(t, forged, ""))
		}, statusDenied, ErrBadSignature},
		{"denied/xsw-signature-moved-to-forged-root", func(t *testing.T) *http.Request {
			signed := f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs256)
			sig := signed.SelectElement("Signature")
			signed.RemoveChildAt(sig.Index())
			forged := f.strict.authnRequest(authnOpts{acsURL: "https://strict.example/acs2"})
			forged.InsertChildAt(1, sig)
			forged.CreateElement("samlp:Extensions").AddChild(signed)
			return post(sso, postValues(t, forged, ""))
		}, statusDenied, ErrBadSignature},
		{"denied/xsw-same-id-other-content", func(t *testing.T) *http.Request {
			signed := f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs256)
			forged := f.strict.authnRequest(authnOpts{id: signed.SelectAttrValue("ID", ""), acsURL: "https://strict.example/acs2"})
			forged.InsertChildAt(1, signed.SelectElement("Signature").Copy())
			return post(sso, postValues(t, forged, ""))
		}, statusDenied, ErrBadSignature},
		{"denied/two-signatures", func(t *testing.T) *http.Request {
			el := f.strict.signXML(f.strict.authnRequest(authnOpts{}), rs256)
			el.CreateElement("samlp:Extensions").AddChild(el.SelectElement("Signature").Copy())
			return post(sso, postValues(t, el, ""))
		}, statusDenied, ErrBadSignature},
		{"denied/signed-without-destination", func(t *testing.T) *http.Request {
			return get(f.strict.redirect(PathSSO, f.strict.authnRequest(authnOpts{dest: "-"}), "", rs256))
		}, statusDenied, ErrDestination},
		{"denied/wrong-destination", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{dest: "https://other-idp.example/saml/sso"}), "", ""))
		}, statusDenied, ErrDestination},
		{"denied/stale", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{instant: time.Now().Add(-10 * time.Minute)}), "", ""))
		}, statusDenied, ErrStale},
		{"denied/from-the-future", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{instant: time.Now().Add(10 * time.Minute)}), "", ""))
		}, statusDenied, ErrStale},
		{"fail/version", func(t *testing.T) *http.Request {
			el := f.open.authnRequest(authnOpts{})
			el.CreateAttr("Version", "1.1")
			return get(f.open.redirect(PathSSO, el, "", ""))
		}, 400, ErrMalformed},
		{"fail/oversized-redirect", func(t *testing.T) *http.Request {
			return get(sso + "?SAMLRequest=" + strings.Repeat("A", maxEncoded+4))
		}, 400, ErrTooLarge},
		{"fail/oversized-post", func(t *testing.T) *http.Request {
			return post(sso, url.Values{paramRequest: {strings.Repeat("A", 2*maxEncoded)}})
		}, 400, ErrTooLarge},
		{"fail/deflate-bomb", func(t *testing.T) *http.Request {
			bomb := append([]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">`), bytes.Repeat([]byte(" "), 8<<20)...)
			r := f.rawRedirect(bomb)
			if n := len(r.URL.RawQuery); n > maxEncoded {
				t.Fatalf("the bomb is %d bytes encoded; it must pass the encoded limit", n)
			}
			return r
		}, 400, ErrTooLarge},
		{"fail/malformed-xml", func(t *testing.T) *http.Request {
			return f.rawRedirect([]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"><saml:Issuer>`))
		}, 400, ErrMalformed},
		{"fail/doctype-entities", func(t *testing.T) *http.Request {
			return f.rawRedirect([]byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>` +
				`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1">&b;</samlp:AuthnRequest>`))
		}, 400, ErrMalformed},
		{"fail/not-base64", func(t *testing.T) *http.Request {
			return get(sso + "?SAMLRequest=%21%21%21not-base64")
		}, 400, ErrMalformed},
		{"fail/not-deflated", func(t *testing.T) *http.Request {
			raw := mustXML(t, f.open.authnRequest(authnOpts{}))
			return get(sso + "?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
		}, 400, ErrMalformed},
		{"fail/logout-request-at-sso", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{root: "LogoutRequest"}), "", ""))
		}, 400, ErrMalformed},
		{"fail/repeated-parameter", func(t *testing.T) *http.Request {
			u := f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{}), "", "")
			return get(u + "&SAMLRequest=AAAA")
		}, 400, ErrMalformed},
		{"fail/no-request", func(t *testing.T) *http.Request { return get(sso) }, 400, ErrMalformed},
		{"fail/metadata-unavailable", func(t *testing.T) *http.Request {
			return get(f.open.redirect(PathSSO, f.open.authnRequest(authnOpts{issuer: f.down}), "", ""))
		}, http.StatusServiceUnavailable, ErrMetadataUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.h.takeLogs()
			before := f.refusals()
			defer func() {
				if want := before + btoi(tt.status != http.StatusOK); f.refusals() != want && !t.Failed() {
					t.Errorf("cnsgate_saml_requests_refused_total counted %d, want %d", f.refusals(), want)
				}
			}()
			p := f.do(t, tt.req(t))
			if tt.status == http.StatusOK {
				p.must(t, 200, "Accedi con TS/CNS")
				return
			}
			if tt.status == statusDenied {
				f.checkDenied(t, p, tt.why)
				return
			}
			want := "Richiesta non valida"
			if tt.status == http.StatusServiceUnavailable {
				want = "temporaneamente non disponibile"
			}
			p.must(t, tt.status, want)
			logs := f.h.takeLogs()
			if !strings.Contains(logs, tt.why.Error()) {
				t.Fatalf("the log does not name %q:\n%s", tt.why, logs)
			}
			// The ACS index is logged as a number, never a pointer.
			if tt.name == "fail/acs-index-unknown" && (!strings.Contains(logs, "index 7,") || strings.Contains(logs, "0xc")) {
				t.Fatalf("the log does not give the ACS index:\n%s", logs)
			}
			if strings.Contains(p.body, "SAMLResponse") || strings.Contains(p.body, "<form") {
				t.Fatalf("a refusal carries a form:\n%s", p.body)
			}
		})
	}
}

// checkDenied checks a refusal answered toward the SP: a form to an ACS of
// a fixture SP's metadata posting a Response signed by the IdP, status
// Requester/RequestDenied, no assertion, no RelayState, and a log line
// naming why.
func (f *refusalFixture) checkDenied(t *testing.T, p page, why error) {
	t.Helper()
	action, form := p.must(t, 200, "SAMLResponse").form(t)
	var sp *testSP
	for _, s := range []*testSP{f.open, f.strict, f.meta} {
		if strings.HasPrefix(action, strings.TrimSuffix(s.acs, "/acs")) {
			sp = s
		}
	}
	if sp == nil || form.Has("RelayState") {
		t.Fatalf("RequestDenied posted to %s with RelayState %q", action, form.Get("RelayState"))
	}
	r := sp.read(form)
	if r.status() != crewjam.StatusRequestDenied || r.response.Status.StatusCode.Value != crewjam.StatusRequester || r.assertion != nil {
		t.Fatalf("status %s/%s, assertion %v", r.response.Status.StatusCode.Value, r.status(), r.assertion != nil)
	}
	if r.response.Destination != action || r.response.InResponseTo == "" {
		t.Fatalf("Destination %q InResponseTo %q", r.response.Destination, r.response.InResponseTo)
	}
	logs := f.h.takeLogs()
	if !strings.Contains(logs, why.Error()) || !strings.Contains(logs, "answer=RequestDenied") {
		t.Fatalf("the log does not name %q:\n%s", why, logs)
	}
}

// refusals is the number of refused requests counted so far.
func (f *refusalFixture) refusals() int {
	n := 0
	for _, r := range RefusalReasons {
		n += f.h.rec.note("refused/" + r)
	}
	return n
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
