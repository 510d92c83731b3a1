package saml

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/sessions"
)

// The acts of "La mia tessera" that end sessions, driven over HTTP against
// the running login service as the citizen's browser does (the confirm
// page's form token, the Origin): the OIDC client's backchannel_logout_uri
// gets a logout token and the SAML SP's SOAP SingleLogoutService a
// LogoutRequest, the end is counted and audited with its cause, and the
// browser is sent through the SP with only browser bindings.

// accountConfirm posts a confirm page of "La mia tessera" to action with
// extra fields, without following the redirect, and returns the answer
// (also the logout confirmation's, which has no extra fields).
func (f *endFixture) accountConfirm(t *testing.T, confirm page, action string, extra url.Values) *http.Response {
	t.Helper()
	form := url.Values{"csrf": {confirm.csrf(t)}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequest(http.MethodPost, f.h.public.URL+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.h.public.URL)
	c := *f.br.c
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestAccountEndsTellTheRelyingParties(t *testing.T) {
	cases := []struct {
		name, cause string
		end         func(t *testing.T, f *endFixture) *http.Response
	}{
		{"withdraw-consent", idp.CauseConsentWithdrawn, func(t *testing.T, f *endFixture) *http.Response {
			f.br.get(f.h.public.URL+"/").must(t, 200, "La mia tessera", `href="/account"`)
			f.br.get(f.h.public.URL+idp.PathAccount).must(t, 200, "Revoca il consenso")
			confirm := f.br.get(f.h.public.URL+idp.PathAccountWithdraw).must(t, 200, "Revocare il consenso?")
			return f.accountConfirm(t, confirm, idp.PathAccountWithdraw, nil)
		}},
		{"remove-current-card", idp.CauseUnregistered, func(t *testing.T, f *endFixture) *http.Response {
			regs, err := f.h.reg.List(context.Background(), registry.ListFilter{FiscalCode: citizenCF})
			if err != nil || len(regs) != 1 {
				t.Fatalf("registrations %+v, %v", regs, err)
			}
			id := strconv.FormatInt(regs[0].ID, 10)
			f.br.get(f.h.public.URL+idp.PathAccount).must(t, 200, "Rimuovi questa tessera", `data-status="active"`)
			confirm := f.br.get(f.h.public.URL+idp.PathAccountRemove+"?card="+id).must(t, 200, "Rimuovere la tessera?", "la sessione sarà chiusa")
			return f.accountConfirm(t, confirm, idp.PathAccountRemove, url.Values{"card": {id}})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newEndFixture(t)
			resp := c.end(t, f)
			// portal (browser bindings only) is told through the browser.
			if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.h.public.URL+PathSLO+"?fc=") {
				t.Fatalf("%s: %s to %q", c.name, resp.Status, loc)
			}
			f.told(t, c.cause)
			if _, err := f.h.store.Get(context.Background(), f.sid); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("the ended session: %v, want not found", err)
			}
			// The card no longer logs in: after a withdrawal it is offered
			// registration (consent again), after a removal it is refused.
			want := map[string]string{"withdraw-consent": "Registra TS-CNS", "remove-current-card": "revocata"}[c.name]
			status := map[string]int{"withdraw-consent": 200, "remove-current-card": 403}[c.name]
			f.br.get(f.h.cns.URL+"/cns/login").must(t, status, want)
		})
	}
}
