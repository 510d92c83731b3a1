package idp

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/cnsgate/cnsgate/idp/web"
)

// ProtocolDeps points at the collaborators in a protocol package's Options
// (idp/oidc, idp/saml), so that every protocol takes the same defaults:
// Fill sets each one still nil. A nil pointer is left alone.
type ProtocolDeps struct {
	Now        *func() time.Time             // time.Now
	Rand       *io.Reader                    // crypto/rand.Reader
	HTTPClient **http.Client                 // a client with a 10 s timeout
	Logger     **slog.Logger                 // one that discards
	ReadFile   *func(string) ([]byte, error) // os.ReadFile
	Pages      **web.Pages                   // web.New()
}

// Fill sets the defaults; it fails only when the embedded templates do not
// parse.
func (d ProtocolDeps) Fill() error {
	if d.Now != nil && *d.Now == nil {
		*d.Now = time.Now
	}
	if d.Rand != nil && *d.Rand == nil {
		*d.Rand = rand.Reader
	}
	if d.HTTPClient != nil && *d.HTTPClient == nil {
		*d.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if d.Logger != nil && *d.Logger == nil {
		*d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ReadFile != nil && *d.ReadFile == nil {
		*d.ReadFile = os.ReadFile
	}
	if d.Pages != nil && *d.Pages == nil {
		pages, err := web.New()
		if err != nil {
			return err
		}
		*d.Pages = pages
	}
	return nil
}
