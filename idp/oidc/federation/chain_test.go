package federation_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/oidc/federation"
)

// TestResolveChain resolves relying party ← intermediate ← trust anchor:
// four statements, the anchor named, the earliest exp, the intermediate's
// and the anchor's policies merged and applied.
func TestResolveChain(t *testing.T) {
	f := newLocalFed(t, nil)
	f.ta.set(func(e *entity) {
		e.subs[f.im.id]["metadata_policy"] = map[string]any{federation.TypeRelyingParty: map[string]any{
			"grant_types": map[string]any{"subset_of": []any{"authorization_code", "refresh_token"}, "essential": true},
			"contacts":    map[string]any{"add": []any{"federazione@ta.example.it"}},
		}}
	})
	f.im.set(func(e *entity) {
		e.life = 10 * time.Minute
		e.subs[f.rp.id]["metadata_policy"] = map[string]any{federation.TypeRelyingParty: map[string]any{
			"grant_types":                  map[string]any{"subset_of": []any{"authorization_code"}},
			"id_token_signed_response_alg": map[string]any{"default": "ES256", "one_of": []any{"RS256", "ES256"}},
		}}
	})
	start := time.Now()
	ch, err := resolve(t, f.federation(t, nil), f.rp.id)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Anchor != f.ta.id || ch.Subject != f.rp.id || len(ch.Statements) != 4 {
		t.Fatalf("anchor %s subject %s, %d statements", ch.Anchor, ch.Subject, len(ch.Statements))
	}
	if d := ch.Expires.Sub(start); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("chain expires in %s, want the intermediate's 10m", d)
	}
	md, _ := json.Marshal(ch.Metadata)
	for _, want := range []string{`"grant_types":["authorization_code"]`, `"id_token_signed_response_alg":"ES256"`,
		`"contacts":["ops@rp.example.it","federazione@ta.example.it"]`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("resolved metadata lacks %s:\n%s", want, md)
		}
	}
	t.Logf("chain of %d statements to %s, expires in %s; metadata %s", len(ch.Statements), ch.Anchor, ch.Expires.Sub(start).Round(time.Second), md)
}

// TestResolveRefusals breaks the chain one way at a time; each refusal
// names what broke.
func TestResolveRefusals(t *testing.T) {
	cases := []struct {
		name    string
		breakIt func(t *testing.T, f *localFed)
		want    string
	}{
		{"expired subordinate statement", func(t *testing.T, f *localFed) {
			f.im.set(func(e *entity) { e.subs[f.rp.id]["exp"] = time.Now().Add(-time.Hour).Unix() })
		}, "subordinate statement of " + "IM about RP: expired at"},
		{"expired entity configuration", func(t *testing.T, f *localFed) {
			f.rp.set(func(e *entity) { e.life = -time.Hour })
		}, "entity configuration of RP: expired at"},
		{"statement signed by a wrong key", func(t *testing.T, f *localFed) {
			f.im.set(func(e *entity) { e.signer = newKey(t) })
		}, "entity configuration of IM: signature not made by the expected keys"},
		{"leaf key not the one its superior lists", func(t *testing.T, f *localFed) {
			f.im.set(func(e *entity) { e.subs[f.rp.id]["jwks"] = jsonOf(t, publicSet(t, newKey(t))) })
		}, "entity configuration of RP: not signed by a key IM lists for it"},
		{"anchor statement not signed by the configured anchor key", func(t *testing.T, f *localFed) {
			f.ta.set(func(e *entity) { e.signer = newKey(t) })
		}, "entity configuration of TA: signature not made by the expected keys"},
		{"relying party removed by its intermediate", func(t *testing.T, f *localFed) {
			f.im.set(func(e *entity) { delete(e.subs, f.rp.id) })
		}, "subordinate statement of IM about RP: GET IM/fetch?sub="},
		{"no authority hints", func(t *testing.T, f *localFed) {
			f.rp.set(func(e *entity) { e.hints = nil })
		}, "RP has no authority_hints and is not a configured trust anchor"},
		{"policy conflict", func(t *testing.T, f *localFed) {
			f.ta.set(func(e *entity) {
				e.subs[f.im.id]["metadata_policy"] = map[string]any{federation.TypeRelyingParty: map[string]any{
					"token_endpoint_auth_method": map[string]any{"value": "private_key_jwt"}}}
			})
			f.im.set(func(e *entity) {
				e.subs[f.rp.id]["metadata_policy"] = map[string]any{federation.TypeRelyingParty: map[string]any{
					"token_endpoint_auth_method": map[string]any{"value": "client_secret_basic"}}}
			})
		}, `metadata policy: token_endpoint_auth_method: value: superior and subordinate set different values ("private_key_jwt" and "client_secret_basic")`},
		{"metadata refused by the policy", func(t *testing.T, f *localFed) {
			f.ta.set(func(e *entity) {
				e.subs[f.im.id]["metadata_policy"] = map[string]any{federation.TypeRelyingParty: map[string]any{
					"response_types": map[string]any{"superset_of": []any{"code", "id_token"}}}}
			})
		}, `metadata policy: response_types: superset_of: ["code"] does not contain ["code","id_token"]`},
		{"too many authority hints", func(t *testing.T, f *localFed) {
			f.rp.set(func(e *entity) {
				for i := range 4 {
					e.hints = append(e.hints, fmt.Sprintf("https://im%d.example.it", i))
				}
			})
		}, "RP lists 5 authority_hints, at most 4 are followed"},
		{"max_path_length", func(t *testing.T, f *localFed) {
			f.ta.set(func(e *entity) { e.subs[f.im.id]["constraints"] = map[string]any{"max_path_length": 0} })
		}, "allows 0 intermediates below it, the chain has 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newLocalFed(t, nil)
			tc.breakIt(t, f)
			_, err := resolve(t, f.federation(t, nil), f.rp.id)
			want := strings.NewReplacer("IM", f.im.id, "RP", f.rp.id, "TA", f.ta.id).Replace(tc.want)
			if !errors.Is(err, federation.ErrChain) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v\nwant one containing %q", err, want)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestResolveRemovedAnswers404 shows the 404 of a fetch endpoint that no
// longer lists the relying party in the refusal.
func TestResolveRemovedAnswers404(t *testing.T) {
	f := newLocalFed(t, nil)
	f.im.set(func(e *entity) { delete(e.subs, f.rp.id) })
	_, err := resolve(t, f.federation(t, nil), f.rp.id)
	if err == nil || !strings.Contains(err.Error(), "answered 404") {
		t.Fatalf("err = %v, want the fetch endpoint's 404", err)
	}
}

// TestResolveLoop: two intermediates naming each other, neither reaching
// the anchor.
func TestResolveLoop(t *testing.T) {
	f := newLocalFed(t, nil)
	other := newEntity(t, f.now).superior()
	f.im.set(func(e *entity) { e.hints = nil })
	other.subordinate(f.im, map[string]any{"jwks": jsonOf(t, publicSet(t, f.im.key))})
	f.im.subordinate(other, map[string]any{"jwks": jsonOf(t, publicSet(t, other.key))})
	_, err := resolve(t, f.federation(t, nil), f.rp.id)
	if err == nil || !strings.Contains(err.Error(), "loop: "+f.im.id+" is already on the chain") {
		t.Fatalf("err = %v, want a loop", err)
	}
	t.Logf("refused: %v", err)
}

// TestResolveTooLong: three intermediates make six statements, over a cap
// of five; a cap of six accepts the chain.
func TestResolveTooLong(t *testing.T) {
	f := newLocalFed(t, nil)
	// rp ← im ← im2 ← im3 ← ta
	im2, im3 := newEntity(t, f.now).superior(), newEntity(t, f.now).superior()
	f.im.set(func(e *entity) { e.hints = nil })
	f.ta.set(func(e *entity) { delete(e.subs, f.im.id) })
	im2.subordinate(f.im, map[string]any{"jwks": jsonOf(t, publicSet(t, f.im.key))})
	im3.subordinate(im2, map[string]any{"jwks": jsonOf(t, publicSet(t, im2.key))})
	f.ta.subordinate(im3, map[string]any{"jwks": jsonOf(t, publicSet(t, im3.key))})
	_, tooLong := resolve(t, f.federation(t, func(o *federation.Options) { o.MaxChainLength = 5 }), f.rp.id)
	if tooLong == nil || !strings.Contains(tooLong.Error(), "longer than 5 statements") {
		t.Fatalf("err = %v, want too long", tooLong)
	}
	ch, err := resolve(t, f.federation(t, func(o *federation.Options) { o.MaxChainLength = 6 }), f.rp.id)
	if err != nil || len(ch.Statements) != 6 {
		t.Fatalf("cap 6: %v", err)
	}
	t.Logf("cap 5 refused: %v; cap 6 resolved %d statements", tooLong, len(ch.Statements))
}

// TestFetchBounds: a redirect, a wrong media type, an oversized answer
// and a non-https entity id are refused.
func TestFetchBounds(t *testing.T) {
	f := newLocalFed(t, nil)
	redirect := httptest.NewTLSServer(http.RedirectHandler(f.rp.id+federation.PathConfiguration, http.StatusFound))
	t.Cleanup(redirect.Close)
	plain := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>"))
	}))
	t.Cleanup(plain.Close)
	big := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", federation.ContentType)
		_, _ = w.Write([]byte(strings.Repeat("a", 2048)))
	}))
	t.Cleanup(big.Close)
	fed := f.federation(t, func(o *federation.Options) { o.MaxStatementBytes = 1024 })
	for id, want := range map[string]string{
		redirect.URL:          "answered 302",
		plain.URL:             `Content-Type "text/html"`,
		big.URL:               "larger than 1024 bytes",
		"http://127.0.0.1:1":  "not an entity identifier",
		f.rp.id + "/?query=1": "not an entity identifier",
	} {
		if _, err := resolve(t, fed, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", id, err, want)
		}
	}
}

// TestResolveClientCached: a resolved client is served from the cache
// until its chain expires, then resolved again; each is counted.
func TestResolveClientCached(t *testing.T) {
	clock := &testClock{t: time.Now()}
	f := newLocalFed(t, clock.Now)
	rec := &recorder{n: map[string]int{}}
	fed := f.federation(t, func(o *federation.Options) { o.Recorder = rec; o.Profile = "cie" })
	c, err := fed.ResolveClient(t.Context(), f.rp.id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != f.rp.id || c.Profile != "cie" || c.AuthMethod != "private_key_jwt" || c.JWKS == "" || c.RedirectURIs[0] != f.rp.id+"/cb" {
		t.Fatalf("client %+v", c)
	}
	again, _ := fed.ResolveClient(t.Context(), f.rp.id)
	if again != c || rec.count(federation.ResultCached) != 1 {
		t.Fatalf("second lookup not cached (%d cached)", rec.count(federation.ResultCached))
	}
	f.im.set(func(e *entity) { delete(e.subs, f.rp.id) })
	clock.Advance(2 * time.Hour)
	if _, err := fed.ResolveClient(t.Context(), f.rp.id); err == nil {
		t.Fatal("removed relying party still served after its chain expired")
	}
	// The refusal is kept a minute: listed again, the relying party is
	// still refused until then, without a fetch.
	f.im.subordinate(f.rp, map[string]any{"jwks": jsonOf(t, publicSet(t, f.rp.key))})
	if _, err := fed.ResolveClient(t.Context(), f.rp.id); err == nil {
		t.Fatal("refusal not cached")
	}
	clock.Advance(federation.RefusalCache)
	if _, err := fed.ResolveClient(t.Context(), f.rp.id); err != nil {
		t.Fatalf("listed again after the refusal expired: %v", err)
	}
	if rec.count(federation.ResultResolved) != 2 || rec.count(federation.ResultRefused) != 2 {
		t.Fatalf("counts %v", rec.n)
	}
	t.Logf("resolutions counted: %v", rec.n)
}

// TestPrivateAddressRefused: without AllowPrivateAddresses no fetch reaches
// a loopback address, even through a name that resolves to one.
func TestPrivateAddressRefused(t *testing.T) {
	f := newLocalFed(t, nil)
	fed := f.federation(t, func(o *federation.Options) { o.AllowPrivateAddresses = false })
	for _, id := range []string{f.rp.id, strings.Replace(f.rp.id, "127.0.0.1", "localhost", 1)} {
		_, err := resolve(t, fed, id)
		if !errors.Is(err, federation.ErrPrivateAddress) {
			t.Fatalf("%s: err = %v, want ErrPrivateAddress", id, err)
		}
		t.Logf("refused: %v", err)
	}
}

// TestResolveClientMetadata: a chain that resolves still needs metadata
// cnsgate can register: inline jwks, private_key_jwt, automatic
// registration, redirect URIs.
func TestResolveClientMetadata(t *testing.T) {
	for param, tc := range map[string]struct {
		value any
		want  string
	}{
		"jwks":                       {nil, "jwks missing or not a JWK Set (the keys must be inline)"},
		"token_endpoint_auth_method": {"client_secret_basic", `token_endpoint_auth_method "client_secret_basic": only private_key_jwt is accepted`},
		"client_registration_types":  {[]any{"explicit"}, "client_registration_types [explicit] does not include automatic"},
		"redirect_uris":              {[]any{"https://rp.example.it/cb#frag"}, `redirect_uri "https://rp.example.it/cb#frag" is not an absolute URI without fragment`},
	} {
		t.Run(param, func(t *testing.T) {
			f := newLocalFed(t, nil)
			f.rp.set(func(e *entity) {
				md := e.metadata[federation.TypeRelyingParty].(map[string]any)
				if tc.value == nil {
					delete(md, param)
				} else {
					md[param] = tc.value
				}
			})
			_, err := f.federation(t, nil).ResolveClient(t.Context(), f.rp.id)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestResolveClientEncryption: the encryption a relying party registers
// in its openid_relying_party metadata for its ID tokens and userinfo
// responses is the resolved client's; without it the client has none
// (the profile fills its defaults).
func TestResolveClientEncryption(t *testing.T) {
	f := newLocalFed(t, nil)
	fed := f.federation(t, func(o *federation.Options) { o.Profile = "cie" })
	c, err := fed.ResolveClient(t.Context(), f.rp.id)
	if err != nil {
		t.Fatal(err)
	}
	if c.IDTokenEncryptedResponseAlg != "" || c.IDTokenEncryptedResponseEnc != "" || c.UserinfoEncryptedResponseAlg != "" || c.UserinfoEncryptedResponseEnc != "" {
		t.Fatalf("encryption without registering it: %+v", c)
	}
	f = newLocalFed(t, nil)
	f.rp.set(func(e *entity) {
		md := e.metadata[federation.TypeRelyingParty].(map[string]any)
		md["id_token_encrypted_response_alg"], md["id_token_encrypted_response_enc"] = "RSA-OAEP-256", "A128CBC-HS256"
		md["userinfo_encrypted_response_alg"], md["userinfo_encrypted_response_enc"] = "RSA-OAEP", "A256CBC-HS512"
	})
	c, err = f.federation(t, func(o *federation.Options) { o.Profile = "cie" }).ResolveClient(t.Context(), f.rp.id)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.IDTokenEncryptedResponseAlg, c.IDTokenEncryptedResponseEnc, c.UserinfoEncryptedResponseAlg, c.UserinfoEncryptedResponseEnc}
	if !slices.Equal(got, []string{"RSA-OAEP-256", "A128CBC-HS256", "RSA-OAEP", "A256CBC-HS512"}) {
		t.Fatalf("encryption of the resolved client: %v", got)
	}
	t.Logf("id_token %s/%s, userinfo %s/%s", got[0], got[1], got[2], got[3])
}
