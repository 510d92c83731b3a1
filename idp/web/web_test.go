package web

import (
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

func TestTemplatesParse(t *testing.T) {
	if _, err := New(); err != nil {
		t.Fatal(err)
	}
}

// TestEveryReasonHasAMessage: a citizen never reads a bare reason code.
func TestEveryReasonHasAMessage(t *testing.T) {
	for _, lang := range []Lang{Italian, English} {
		for _, r := range x509cns.Reasons() {
			if _, ok := texts[lang]["reason."+string(r)]; !ok {
				t.Errorf("%s: no message for reason %q", lang, r)
			}
		}
	}
	if ReasonMessage(Italian, "no_such_reason") != texts[Italian]["reason.internal_error"] {
		t.Error("unknown reasons must fall back to the internal-error message")
	}
}

// TestTextsComplete: every key exists in both languages.
func TestTextsComplete(t *testing.T) {
	for k := range texts[Italian] {
		if _, ok := texts[English][k]; !ok {
			t.Errorf("English lacks %q", k)
		}
	}
	for k := range texts[English] {
		if _, ok := texts[Italian][k]; !ok {
			t.Errorf("Italian lacks %q", k)
		}
	}
}

func TestLangFrom(t *testing.T) {
	for header, want := range map[string]Lang{
		"":                        Italian,
		"en-US,en;q=0.9":          English,
		"it-IT,it;q=0.9,en;q=0.8": Italian,
		"de-DE,en;q=0.5":          English,
		"fr-FR":                   Italian,
		"EN":                      English,
		"garbage;;;,,":            Italian,
		"it;q=0.1, en;q=0.9":      English,
		"en;q=0.5, it;q=0.5":      English, // tie: first listed
		"en;q=0":                  Italian, // q=0 means "not acceptable"
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", header)
		if got := LangFrom(r); got != want {
			t.Errorf("LangFrom(%q) = %s, want %s", header, got, want)
		}
	}
}

// TestWithLang: a language chosen for the request (OIDC ui_locales) speaks
// before Accept-Language; an unsupported one changes nothing.
func TestWithLang(t *testing.T) {
	for _, tt := range []struct {
		chosen Lang
		header string
		want   Lang
	}{
		{English, "it-IT,it", English},
		{Italian, "en-US,en", Italian},
		{"", "en", English},
		{"de", "en", English},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", tt.header)
		r = r.WithContext(WithLang(r.Context(), tt.chosen))
		if got := LangFrom(r); got != tt.want {
			t.Errorf("WithLang(%q) with Accept-Language %q: %s, want %s", tt.chosen, tt.header, got, tt.want)
		}
	}
	for tag, want := range map[string]Lang{"en-GB": English, "IT": Italian, "it-CH": Italian, "fr": "", "": "", "english": ""} {
		if got := LangOf(tag); got != want {
			t.Errorf("LangOf(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestRenderErrorPage(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	data := map[string]any{"Lang": Italian, "Title": "x", "Message": "<script>alert(1)</script>", "RequestID": "abc"}
	if err := p.Render(w, 403, "error.html", data); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if w.Code != 403 || strings.Contains(body, "<script>") || !strings.Contains(body, `lang="it"`) {
		t.Fatalf("%d\n%s", w.Code, body)
	}
	// no-referrer would make browsers send "Origin: null" on our own form
	// POSTs (registration, logout), which the origin check must refuse.
	if rp := w.Header().Get("Referrer-Policy"); rp == "no-referrer" || rp == "" {
		t.Fatalf("Referrer-Policy %q hides our origin from our own forms", rp)
	}
	if w.Header().Get("Content-Security-Policy") == "" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("security headers missing")
	}
}

// TestTemplateKeysExist: every text a template asks for is written, so a
// citizen never reads a raw key such as "logout.title".
func TestTemplateKeysExist(t *testing.T) {
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`t \$?\.Lang "([^"]+)"`)
	for _, e := range entries {
		b, err := templateFS.ReadFile("templates/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if _, ok := texts[Italian][m[1]]; !ok {
				t.Errorf("%s uses text %q, which does not exist", e.Name(), m[1])
			}
		}
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"MARIO":          "Mario",
		"MARIA D'ANGELO": "Maria D'Angelo",
		"ANNA MARIA":     "Anna Maria",
		"DE LUCA-ROSSI":  "De Luca-Rossi",
		"NICCOLÒ":        "Niccolò",
		"":               "",
	} {
		if got := DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSiteHelpers(t *testing.T) {
	for in, want := range map[string]string{
		"800 000 000":       "tel:800000000",
		"+39 055.123-456":   "tel:+39055123456",
		"06/1234 <script>":  "tel:061234",
		" 1+2 ":             "tel:12",
		"numero verde 800.": "tel:800",
	} {
		if got := string((Help{Phone: in}).PhoneURI()); got != want {
			t.Errorf("PhoneURI(%q) = %q, want %q", in, got, want)
		}
	}
	for name, want := range map[string]string{"logo.PNG": "image/png", "a/b.svg": "image/svg+xml", "x.jpeg": "image/jpeg", "x.webp": "image/webp", "x.gif": "", "logo": ""} {
		if got := LogoTypeOf(name); got != want {
			t.Errorf("LogoTypeOf(%q) = %q, want %q", name, got, want)
		}
	}
	if (Help{Hours: "8-17"}).Any() || !(Help{Email: "a@b.it"}).Any() {
		t.Error("Help.Any: hours alone are no contact, an e-mail is")
	}
}

// TestRenderBuffersNeverMix: pages are rendered into pooled buffers; a
// page never carries a byte of another page, whether the one before it
// failed half-way or others render at the same time.
func TestRenderBuffersNeverMix(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	// A failing render leaves a half-written page in its buffer.
	bad := map[string]any{"Lang": Italian, "Title": "x", "Message": "LEFTOVER-PAGE", "RequestID": "r"}
	if err := p.Render(httptest.NewRecorder(), 500, "no-such-page.html", bad); err == nil {
		t.Fatal("a missing template rendered")
	}
	_ = p.Render(httptest.NewRecorder(), 200, "error.html", bad)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("page-%02d-message", i)
			w := httptest.NewRecorder()
			data := map[string]any{"Lang": Italian, "Title": "x", "Message": msg, "RequestID": "r"}
			if err := p.Render(w, 403, "error.html", data); err != nil {
				t.Error(err)
				return
			}
			body := w.Body.String()
			if strings.Count(body, "-message") != strings.Count(body, msg) || !strings.Contains(body, msg) ||
				strings.Contains(body, "LEFTOVER") || strings.Count(body, "</html>") != 1 {
				t.Errorf("page %d carries another page's bytes:\n%s", i, body)
			}
		}()
	}
	wg.Wait()
}
