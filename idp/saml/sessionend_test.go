package saml

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The session-ending path seen from the relying parties: whatever ends a
// session, an OIDC client's backchannel_logout_uri receives a logout token
// and a SAML SP's SOAP SingleLogoutService a LogoutRequest, the end is
// counted and audited with its cause, and each delivery is audited.

// backchannelRP is an OIDC relying party on loopback: it takes logout
// tokens on /backchannel and answers its redirect URIs with 200.
type backchannelRP struct {
	srv    *httptest.Server
	mu     sync.Mutex
	tokens []map[string]any // the claims of each logout token received
}

func newBackchannelRP(t *testing.T) *backchannelRP {
	rp := &backchannelRP{}
	rp.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/backchannel" {
			_, _ = w.Write([]byte("rp page " + r.URL.Path))
			return
		}
		parts := strings.Split(r.PostFormValue("logout_token"), ".")
		var claims map[string]any
		if len(parts) == 3 {
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(payload, &claims)
		}
		if claims == nil {
			http.Error(w, "no logout token", http.StatusBadRequest)
			return
		}
		rp.mu.Lock()
		rp.tokens = append(rp.tokens, claims)
		rp.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *backchannelRP) received() []map[string]any {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]map[string]any(nil), rp.tokens...)
}

// endFixture is a citizen logged in to two SAML SPs (portal, with a
// browser SingleLogoutService, and cms, with a SOAP one) and an OIDC
// client (esenzioni, with a backchannel_logout_uri).
type endFixture struct {
	h      *harness
	soap   *soapSPs
	rp     *backchannelRP
	portal *testSP
	cms    *testSP
	card   *cnstest.Card
	br     *browser
	sid    string // the session's id, as the cookie holds it
	got    map[*testSP]*result
}

const endClient = "esenzioni"

func newEndFixture(t *testing.T) *endFixture {
	h := newHarness(t)
	f := &endFixture{h: h, soap: newSOAPSPs(t), rp: newBackchannelRP(t)}
	f.portal = h.newSP("portal", spOptions{slo: []endpoint{{bindingRedirect, "https://portal.example/slo"}}})
	f.cms = h.newSP("cms", spOptions{slo: []endpoint{{crewjam.SOAPBinding, f.soap.url("cms")}}})
	h.start([]ServiceProvider{f.portal.cfg, f.cms.cfg})
	f.startOIDC(t)

	f.card = h.citizen(citizenCF)
	f.br = h.browser(f.card)
	f.got = h.loggedIn(f.br, f.portal, f.cms)
	f.oidcLogin(t)
	f.sid = f.br.cookie().Value
	return f
}

// startOIDC mounts an OpenID Provider on the same login service.
func (f *endFixture) startOIDC(t *testing.T) {
	h := f.h
	key, err := pemfile.GenerateKey(pemfile.AlgES256)
	if err != nil {
		t.Fatal(err)
	}
	rp := f.rp.srv.URL
	op, err := oidc.New(h.svc, h.store, h.eph, oidc.Options{
		SigningKeys: []string{"es256.pem"}, SubjectSalt: []byte("test-subject-salt-0123456789abcdef"),
		Clients: []oidc.Client{{
			ID: endClient, RedirectURIs: []string{rp + "/cb"}, PostLogoutRedirectURIs: []string{rp + "/bye"},
			BackchannelLogoutURI: rp + "/backchannel", AuthMethod: oidc.AuthNone, SubjectType: oidc.SubjectPublic,
		}},
		Logger: h.env.Logger, Pages: h.env.Pages, HTTPClient: h.client(),
		ReadFile: func(string) ([]byte, error) { return key, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	op.Mount(h.mux)
}

// oidcLogin makes esenzioni a participant the way a relying party does:
// an authorization request answered from the live session.
func (f *endFixture) oidcLogin(t *testing.T) {
	sum := sha256.Sum256([]byte("a-code-verifier-of-at-least-forty-three-characters"))
	q := url.Values{
		"client_id": {endClient}, "redirect_uri": {f.rp.srv.URL + "/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st"}, "nonce": {"n0"}, "prompt": {"none"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	f.br.get(f.h.public.URL+"/authorize?"+q.Encode()).must(t, 200, "rp page /cb")
	sess, err := f.h.store.Get(context.Background(), f.br.cookie().Value)
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Participants) != 3 {
		t.Fatalf("participants %+v, want portal, cms and esenzioni", sess.Participants)
	}
}

// confirm posts the logout confirmation and returns the answer, without
// following a redirect.
func (f *endFixture) confirm(t *testing.T, confirm page) *http.Response {
	confirm.must(t, 200, "Vuoi uscire?")
	return f.accountConfirm(t, confirm, "/logout", nil)
}

// told checks that both relying parties that can be told were, once, and
// that the end and the deliveries were counted and audited.
func (f *endFixture) told(t *testing.T, cause string) {
	t.Helper()
	h := f.h
	waitFor(t, func() bool { return len(f.rp.received()) == 1 && len(f.soap.requests("cms")) == 1 })
	tok := f.rp.received()[0]
	if _, ok := tok["events"].(map[string]any)["http://schemas.openid.net/event/backchannel-logout"]; !ok || tok["sid"] == "" || tok["nonce"] != nil {
		t.Fatalf("logout token claims %v", tok)
	}
	reason := "urn:oasis:names:tc:SAML:2.0:logout:user"
	switch cause {
	case idp.CauseIdle, idp.CauseAbsolute:
		reason = "urn:oasis:names:tc:SAML:2.0:logout:global-timeout"
	case idp.CauseAdmin, idp.CauseRevoked:
		reason = "urn:oasis:names:tc:SAML:2.0:logout:admin"
	}
	checkBackChannel(t, h, f.soap.requests("cms")[0], f.got[f.cms].assertion, reason)
	if n := len(f.soap.requests("portal")); n != 0 {
		t.Fatalf("portal (no SOAP endpoint) got %d LogoutRequests", n)
	}

	waitFor(t, func() bool {
		return h.rec.note(NotificationSAML+"/"+ResultOK) == 1 && h.rec.note(oidc.NotificationBackchannel+"/"+oidc.ResultOK) == 1
	})
	if n := h.rec.note("ended/" + cause); n != 1 {
		t.Fatalf("sessions_ended_total{cause=%q} counted %d", cause, n)
	}

	ctx := context.Background()
	ends, err := h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindSessionEnd, FiscalCode: citizenCF})
	if err != nil {
		t.Fatal(err)
	}
	if len(ends) != 1 || ends[0].Outcome != registry.OutcomeSuccess || !strings.Contains(string(ends[0].Detail), `"cause":"`+cause+`"`) {
		t.Fatalf("session_end audit events %+v", ends)
	}
	var notes []registry.Event
	waitFor(t, func() bool {
		notes, err = h.reg.QueryAudit(ctx, registry.AuditQuery{Kind: registry.KindLogoutNotification, FiscalCode: citizenCF})
		return err == nil && len(notes) == 2
	})
	clients := map[string]bool{}
	for _, e := range notes {
		if e.Outcome != registry.OutcomeSuccess || e.SessionHash != ends[0].SessionHash || !strings.Contains(string(e.Detail), `"attempts":1`) {
			t.Fatalf("logout_notification audit event %+v (detail %s)", e, e.Detail)
		}
		clients[e.Client] = true
	}
	if !clients[endClient] || !clients[f.cms.entityID] {
		t.Fatalf("deliveries audited for %v", clients)
	}
}

// TestEveryEndTellsTheRelyingParties ends the session once per cause, the
// way each cause happens.
func TestEveryEndTellsTheRelyingParties(t *testing.T) {
	cases := []struct {
		name, cause string
		end         func(t *testing.T, f *endFixture)
	}{
		{"esci", idp.CauseLogout, func(t *testing.T, f *endFixture) {
			// portal (browser bindings only) is told through the browser
			// first (TestFrontChannelLogout follows the chain).
			resp := f.confirm(t, f.br.get(f.h.public.URL+"/logout"))
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.h.public.URL+PathSLO+"?fc=") {
				t.Fatalf("Esci: %s to %q", resp.Status, loc)
			}
		}},
		{"oidc-end-session", idp.CauseLogout, func(t *testing.T, f *endFixture) {
			q := url.Values{"client_id": {endClient}, "post_logout_redirect_uri": {f.rp.srv.URL + "/bye"}}
			resp := f.confirm(t, f.br.get(f.h.public.URL+"/logout?"+q.Encode()))
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.h.public.URL+PathSLO+"?fc=") {
				t.Fatalf("end_session: %s to %q", resp.Status, loc)
			}
		}},
		{"saml-slo", idp.CauseLogout, func(t *testing.T, f *endFixture) {
			// A signed LogoutRequest from a participant ends the session
			// at once; the initiator is the only browser-binding SP.
			a := f.got[f.portal].assertion
			lr := f.portal.logoutRequest(a.Subject.NameID.Value, a.AuthnStatements[0].SessionIndex)
			f.br.stopAtSPs()
			resp, err := f.br.c.Get(f.portal.redirect(PathSLO, lr, "", dsig.RSASHA256SignatureMethod))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "https://portal.example/slo?SAMLResponse=") {
				t.Fatalf("SLO: %s to %q", resp.Status, loc)
			}
		}},
		{"admin-revoke", idp.CauseAdmin, func(t *testing.T, f *endFixture) {
			// What `cnsgate registrations revoke` does once the
			// registration is revoked.
			if n, err := f.h.svc.EndCitizenSessions(context.Background(), citizenCF, idp.CauseAdmin); err != nil || n != 1 {
				t.Fatalf("EndCitizenSessions: %d, %v", n, err)
			}
		}},
		{"replaced-by-new-login", idp.CauseReplaced, func(t *testing.T, f *endFixture) {
			// The same browser logs in again: its old session ends.
			f.br.get(f.h.cns.URL+"/cns/login").must(t, 200, citizenCF)
		}},
		{"replaced-card", idp.CauseReplaced, func(t *testing.T, f *endFixture) {
			// A new card registered for the same fiscal code.
			card := f.h.ca.MustIssueCard(cnstest.CardOptions{FiscalCode: citizenCF, GivenName: "MARIO", FamilyName: "ROSSI"})
			br := f.h.browser(card)
			reg := br.get(f.h.cns.URL+"/cns/login").must(t, 200, "Registra TS-CNS")
			br.post(f.h.cns.URL+"/cns/register", url.Values{"csrf": {reg.csrf(t)}, "consent": {"yes"}}, f.h.cns.URL).
				must(t, 200, "Operazione correttamente eseguita")
		}},
		{"revoked-by-crl", idp.CauseRevoked, func(t *testing.T, f *endFixture) {
			id, err := x509cns.ExtractIdentity(f.card.Cert, f.card.CA.Cert)
			if err != nil {
				t.Fatal(err)
			}
			f.h.svc.CardsRevoked(context.Background(), id.Issuer, []string{id.Serial})
		}},
		{"idle", idp.CauseIdle, func(t *testing.T, f *endFixture) {
			f.h.ahead.Store(int64(16 * time.Minute))
			f.br.get(f.h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
		}},
		{"absolute", idp.CauseAbsolute, func(t *testing.T, f *endFixture) {
			f.h.ahead.Store(int64(8*time.Hour + time.Minute))
			f.br.get(f.h.public.URL+"/").must(t, 200, "Accedi con TS/CNS")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newEndFixture(t)
			c.end(t, f)
			f.told(t, c.cause)
			if _, err := f.h.store.Get(context.Background(), f.sid); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("the ended session: %v, want not found", err)
			}
		})
	}
}
