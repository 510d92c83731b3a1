package demo

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInfoPages: the footer's pages answer over the network in the
// visitor's language, from idp/web's template and texts, with no
// stylesheet or script to load.
func TestInfoPages(t *testing.T) {
	mux := http.NewServeMux()
	for path, h := range InfoHandlers() {
		mux.Handle(path, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct{ path, lang, want string }{
		{PrivacyPath, "it", "Informativa sul trattamento dei dati personali"},
		{PrivacyPath, "en", "Privacy notice"},
		{AccessibilityPath, "it", "Dichiarazione di accessibilità"},
		{AccessibilityPath, "en", "Accessibility statement"},
		{LegalPath, "it", "Pagina dimostrativa."},
		{LegalPath, "en", "Demonstration page."},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
		req.Header.Set("Accept-Language", c.lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != 200 || !strings.Contains(page, c.want) || !strings.Contains(page, `<html lang="`+c.lang+`">`) ||
			strings.Contains(page, "<link") || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("%s in %s: %s %q\n%s", c.path, c.lang, resp.Status, resp.Header.Get("Content-Security-Policy"), page)
		}
	}
}
