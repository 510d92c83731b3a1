package web

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// loginData has the fields home.html reads, as idp's page does.
type loginData struct {
	Lang         Lang
	Title        string
	LoginURL     string
	CancelURL    string
	LoggedIn     bool
	RelyingParty *struct{ Name string }
}

// framedValues are per-request values of every kind: plain, with what each
// context escapes, and hostile.
var framedValues = []string{
	"",
	"https://idp.example.it/cns/start?req=QUJDREVGR0g_LS0",
	"https://rp.example.it/cb?error=access_denied&state=a%20b+c&x=\"y'<z>",
	"javascript:alert(1)",
	"/relative/path?a=1&b=é",
	"</a><script>alert(1)</script>",
	"\x00`+=' \"",
}

// TestRenderFramedSameBytes: a framed page is byte for byte what Render
// writes, with the same headers, across languages, sites, relying parties
// and values, for a frame built from any of them first.
func TestRenderFramedSameBytes(t *testing.T) {
	sites := map[string]Site{
		"bare": {},
		"full": {Brand: Brand{Name: "Regione <Test> & Co", URL: "https://regione.example.it/?a=1&b=2", Logo: []byte("x")},
			Links: Links{Accessibility: "https://a.example.it/", Privacy: "/privacy", Legal: "https://l.example.it/?q='x'"},
			Help:  Help{Phone: "+39 06 1234", Email: "help@example.it"}, Home: "/home/"},
	}
	rps := map[string]*struct{ Name string }{"none": nil, "rp": {Name: "Fascicolo <Sanitario> & \"Co\""}}
	for sn, site := range sites {
		for rn, rp := range rps {
			for _, lang := range []Lang{Italian, English} {
				p, err := NewSite(site)
				if err != nil {
					t.Fatal(err)
				}
				key := string(lang) + "/" + rn
				for _, login := range framedValues {
					for _, cancel := range framedValues {
						name := fmt.Sprintf("%s/%s/%s/%q/%q", sn, rn, lang, login, cancel)
						data := func(v []string) any {
							return loginData{Lang: lang, Title: lang.T("home.title"), LoginURL: v[0], CancelURL: v[1], RelyingParty: rp}
						}
						want, got := httptest.NewRecorder(), httptest.NewRecorder()
						if err := p.Render(want, 200, "home.html", data([]string{login, cancel})); err != nil {
							t.Fatalf("%s: Render: %v", name, err)
						}
						if err := p.RenderFramed(got, 200, "home.html", key, []string{login, cancel}, data); err != nil {
							t.Fatalf("%s: RenderFramed: %v", name, err)
						}
						if !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
							t.Fatalf("%s: framed page differs:\n%s\nwant\n%s", name, got.Body, want.Body)
						}
						if fmt.Sprint(want.Header()) != fmt.Sprint(got.Header()) || want.Code != got.Code {
							t.Fatalf("%s: headers %v %d, want %v %d", name, got.Header(), got.Code, want.Header(), want.Code)
						}
					}
				}
				if n := framedCount(p); n != 4 {
					t.Errorf("%s/%s/%s: %d frames, want one per empty/non-empty pair of values (4)", sn, rn, lang, n)
				}
			}
		}
	}
}

func framedCount(p *Pages) (n int) {
	p.frames.mu.RLock()
	defer p.frames.mu.RUnlock()
	for _, f := range p.frames.m {
		if f != nil {
			n++
		}
	}
	return n
}

// TestRenderFramedRefusesOtherContexts: a value in a context RenderFramed
// has no escaper for (script, style, attributes other than href, a value
// printed twice) is never spliced: the page is rendered in full, escaped as
// html/template escapes it there.
func TestRenderFramedRefusesOtherContexts(t *testing.T) {
	for name, src := range map[string]string{
		"script":    `<p>x</p><script>var a = "{{.A}}";</script>`,
		"style":     `<style>p { color: {{.A}} }</style>`,
		"onclick":   `<a onclick="{{.A}}">x</a>`,
		"title":     `<p title="{{.A}}">x</p>`,
		"twice":     `<p>{{.A}}</p><p>{{.A}}</p>`,
		"unquoted":  `<a href={{.A}}>x</a>`,
		"href-part": `<a href="/x?a={{.A}}">x</a>`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := New()
			if err != nil {
				t.Fatal(err)
			}
			page := name + ".html"
			if _, err := p.t.New(page).Parse(src); err != nil {
				t.Fatal(err)
			}
			data := func(v []string) any { return struct{ A string }{v[0]} }
			for _, v := range framedValues {
				want, got := httptest.NewRecorder(), httptest.NewRecorder()
				if err := p.Render(want, 200, page, data([]string{v})); err != nil {
					t.Fatal(err)
				}
				if err := p.RenderFramed(got, 200, page, "", []string{v}, data); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
					t.Errorf("%q: framed page %q, want %q", v, got.Body, want.Body)
				}
			}
			k := page + "\x00\x001"
			if f, ok := p.frames.m[k]; !ok || f != nil {
				t.Errorf("frame of %s = %v, %v; want refused (nil)", page, f, ok)
			}
		})
	}
}

// TestRenderFramedBounded: past maxFrames keys, pages are rendered in full
// and no frame is kept.
func TestRenderFramedBounded(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	data := func(v []string) any { return loginData{Lang: Italian, LoginURL: v[0]} }
	for i := range maxFrames + 10 {
		want, got := httptest.NewRecorder(), httptest.NewRecorder()
		if err := p.Render(want, 200, "home.html", data([]string{"/x"})); err != nil {
			t.Fatal(err)
		}
		if err := p.RenderFramed(got, 200, "home.html", fmt.Sprint(i), []string{"/x"}, data); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want.Body.Bytes(), got.Body.Bytes()) {
			t.Fatalf("key %d: framed page differs", i)
		}
	}
	if n := len(p.frames.m); n != maxFrames {
		t.Errorf("%d frames kept, want the bound %d", n, maxFrames)
	}
}

// BenchmarkRenderLogin compares the card login page rendered in full with
// the framed one.
func BenchmarkRenderLogin(b *testing.B) {
	p, err := New()
	if err != nil {
		b.Fatal(err)
	}
	rp := &struct{ Name string }{"Fascicolo Sanitario"}
	values := []string{"https://idp.example.it/cns/start?req=QUJDREVGR0gtSUpLTE1OT1BRUlNUVVZXWFla", "https://rp.example.it/cb?error=access_denied&state=abc"}
	data := func(v []string) any {
		return loginData{Lang: Italian, Title: Italian.T("home.title"), LoginURL: v[0], CancelURL: v[1], RelyingParty: rp}
	}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.Render(httptest.NewRecorder(), 200, "home.html", data(values)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("framed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := p.RenderFramed(httptest.NewRecorder(), 200, "home.html", "it/rp", values, data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestPlainEscape: the shortcut escapes every value it takes as the slot's
// template does, over values made of every character class the escapers
// treat apart.
func TestPlainEscape(t *testing.T) {
	pieces := []string{"a", "Z", "9", "-", ".", "_", "~", "/", "?", "=", "#", ",", ";", "@", ":", "&", "+", "%", " ", "<", ">", "\"", "'", "`", "\x00", "é", "\\", "(", "!", "*", "$", "[", "https:", "HTTP:", "javascript:", "data:", "mailto:", "//", "&amp;", "%zz"}
	var values []string
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				values = append(values, a+b+c, "https://x.it/"+a+b+c, a+b+c+"?q=1&r=2")
			}
		}
	}
	taken := 0
	for _, slot := range slotContexts {
		for _, v := range values {
			got, ok := plainEscape(slot.t, v)
			if !ok {
				continue
			}
			taken++
			var want bytes.Buffer
			if err := slot.t.Execute(&want, v); err != nil {
				t.Fatal(err)
			}
			if w := strings.TrimSuffix(strings.TrimPrefix(want.String(), slot.prefix), slot.suffix); got != w {
				t.Errorf("%s: plainEscape(%q) = %q, template %q", slot.prefix, v, got, w)
			}
		}
	}
	if taken == 0 {
		t.Fatal("plainEscape took no value")
	}
}
