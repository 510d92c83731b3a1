package idp_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/idp/web"
)

// TestProtocolDeps: Fill sets every collaborator left nil, keeps the ones
// given, and leaves a field it has no pointer to alone.
func TestProtocolDeps(t *testing.T) {
	var o struct {
		Now        func() time.Time
		Rand       io.Reader
		HTTPClient *http.Client
		Logger     *slog.Logger
		ReadFile   func(string) ([]byte, error)
		Pages      *web.Pages
	}
	given := bytes.NewReader(nil)
	o.Rand = given
	deps := idp.ProtocolDeps{Now: &o.Now, Rand: &o.Rand, HTTPClient: &o.HTTPClient, Logger: &o.Logger, ReadFile: &o.ReadFile}
	if err := deps.Fill(); err != nil {
		t.Fatal(err)
	}
	switch {
	case o.Now == nil, o.Logger == nil, o.ReadFile == nil:
		t.Fatal("a default was not set")
	case o.Rand != io.Reader(given):
		t.Fatal("the Rand given was replaced")
	case o.HTTPClient == nil || o.HTTPClient.Timeout != 10*time.Second:
		t.Fatalf("HTTP client %+v, want a 10 s timeout", o.HTTPClient)
	case o.Pages != nil:
		t.Fatal("Pages set without a pointer to it")
	}
	deps = idp.ProtocolDeps{Pages: &o.Pages}
	if err := deps.Fill(); err != nil || o.Pages == nil {
		t.Fatalf("pages %v, %v", o.Pages, err)
	}
}
