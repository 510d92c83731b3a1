package webpage

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// TestStaticServesTheSharedLayout: an application's Static serves its own
// files and the layout the examples share, from one handler over the
// network.
func TestStaticServesTheSharedLayout(t *testing.T) {
	app := fstest.MapFS{"static/app.css": {Data: []byte(":root { --accent: #00664d; }\n")}}
	srv := httptest.NewServer(Static(app))
	defer srv.Close()
	for path, want := range map[string]string{
		"/static/app.css": "--accent",
		SharedCSS:         "table.stack td::before",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %s %q %q", path, resp.Status, resp.Header.Get("Content-Type"), body)
		}
	}
	resp, err := http.Get(srv.URL + "/static/other.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET /static/other.css: %s", resp.Status)
	}
}
