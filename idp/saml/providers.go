package saml

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// Errors of the service-provider lookup.
var (
	// ErrUnknownSP reports an Issuer that is no configured service provider.
	ErrUnknownSP = errors.New("saml: unknown service provider")
	// ErrMetadataUnavailable reports a configured service provider whose
	// metadata could not be loaded or has expired.
	ErrMetadataUnavailable = errors.New("saml: service provider metadata unavailable")
)

// AttributeProfile names the attribute names sent to a service provider.
type AttributeProfile string

// The attribute profiles; the zero value is spid.
const (
	ProfileSPID AttributeProfile = "spid" // fiscalNumber, name, familyName, ...
	ProfileOID  AttributeProfile = "oid"  // urn:oid:... names
)

// NameIDFormat is the NameID format sent to a service provider.
type NameIDFormat string

// The NameID formats; the zero value is persistent.
const (
	NameIDPersistent NameIDFormat = "persistent"
	NameIDTransient  NameIDFormat = "transient"
)

// ServiceProvider is one relying party as the identity provider serves it;
// its endpoints and keys come from its metadata, read from MetadataFile or
// fetched from MetadataURL. The settings are taken as checked by
// config.Validate; New refuses only what it cannot build.
type ServiceProvider struct {
	EntityID     string
	MetadataFile string
	MetadataURL  string
	// MetadataSignerFile holds the certificates that must sign the
	// metadata; required for a metadata_url over plain http.
	MetadataSignerFile string
	AttributeProfile   AttributeProfile
	NameIDFormat       NameIDFormat
	// RequireSignedRequests refuses AuthnRequests without a valid signature.
	RequireSignedRequests bool
}

// serviceProvider is one configured SP and its current metadata.
type serviceProvider struct {
	cfg  ServiceProvider
	meta atomic.Pointer[spMetadata] // nil until loaded
	// signers verify a metadata_url document; nil when no signer is set.
	signers []*x509.Certificate
}

// spMetadata is what cnsgate uses of an SP's metadata.
type spMetadata struct {
	entity      *crewjam.EntityDescriptor
	sso         *crewjam.SPSSODescriptor
	signing     []*x509.Certificate // use="signing" or no use
	encryption  *x509.Certificate   // first use="encryption" (or no use) RSA certificate
	encMethods  []string            // EncryptionMethod algorithms of that key
	wantsSigned bool                // AuthnRequestsSigned="true"
	validUntil  time.Time           // zero when the document sets none
}

// requireSigned says whether requests from the SP must carry a valid
// signature: the configuration or the SP's own metadata asks for it.
func (sp *serviceProvider) requireSigned(md *spMetadata) bool {
	return sp.cfg.RequireSignedRequests || md.wantsSigned
}

// allRequireSigned reports whether every configured SP must sign its
// AuthnRequests (require_signed_requests, the default): the IdP metadata
// then says WantAuthnRequestsSigned="true". One SP configured otherwise
// turns it off for all, since the metadata is the same for every SP.
func (ps *providers) allRequireSigned() bool {
	for _, sp := range ps.byID {
		if !sp.cfg.RequireSignedRequests {
			return false
		}
	}
	return true
}

// nameIDFormat is the URN of the SP's configured NameID format.
func (sp *serviceProvider) nameIDFormat() string {
	if sp.cfg.NameIDFormat == NameIDTransient {
		return string(crewjam.TransientNameIDFormat)
	}
	return string(crewjam.PersistentNameIDFormat)
}

// providers holds the configured service providers by entity id.
type providers struct {
	byID map[string]*serviceProvider
	deps providerDeps
	// failed counts the metadata_url fetches that failed at start-up.
	failed int
}

type providerDeps struct {
	readFile func(string) ([]byte, error)
	http     *http.Client
	now      func() time.Time
	logger   *slog.Logger
	refresh  time.Duration
}

func newProviders(cfgs []ServiceProvider, d providerDeps) (*providers, error) {
	ps := &providers{byID: map[string]*serviceProvider{}, deps: d}
	for _, c := range cfgs {
		if c.EntityID == "" {
			return nil, errors.New("saml: a service provider has no entity_id")
		}
		if _, dup := ps.byID[c.EntityID]; dup {
			return nil, fmt.Errorf("saml: service provider %s configured twice", c.EntityID)
		}
		sp := &serviceProvider{cfg: c}
		if c.MetadataSignerFile != "" {
			data, err := d.readFile(c.MetadataSignerFile)
			if err == nil {
				sp.signers, err = pemfile.Certificates(data)
			}
			if err != nil {
				return nil, fmt.Errorf("saml: %s: metadata_signer_file: %w", c.EntityID, err)
			}
		}
		switch {
		case c.MetadataFile != "":
			data, err := d.readFile(c.MetadataFile)
			if err != nil {
				return nil, fmt.Errorf("saml: %s: metadata_file: %w", c.EntityID, err)
			}
			md, err := parseSPMetadata(data, c.EntityID, sp.signers, d.now())
			if err != nil {
				return nil, fmt.Errorf("saml: %s: metadata_file: %w", c.EntityID, err)
			}
			sp.meta.Store(md)
		case c.MetadataURL != "":
			if !strings.HasPrefix(strings.ToLower(c.MetadataURL), "https://") && len(sp.signers) == 0 {
				return nil, fmt.Errorf("saml: %s: metadata_url over plain http needs metadata_signer_file", c.EntityID)
			}
		default:
			return nil, fmt.Errorf("saml: %s: metadata_file or metadata_url is required", c.EntityID)
		}
		ps.byID[c.EntityID] = sp
	}
	ps.failed = ps.refreshAll(nil)
	return ps, nil
}

// lookup returns the SP and its metadata if it is still valid.
func (ps *providers) lookup(entityID string) (*serviceProvider, *spMetadata, error) {
	sp := ps.byID[entityID]
	if sp == nil {
		return nil, nil, ErrUnknownSP
	}
	md := sp.meta.Load()
	if md == nil || (!md.validUntil.IsZero() && !ps.deps.now().Before(md.validUntil)) {
		return sp, nil, ErrMetadataUnavailable
	}
	return sp, md, nil
}

// acs picks the assertion consumer service for a request: by index, by URL
// (exact match), or the default; HTTP-POST endpoints only, since that is
// the binding cnsgate answers with. ok is false when the request names an
// endpoint the metadata does not list.
func (md *spMetadata) acs(index *int, location string) (crewjam.IndexedEndpoint, bool) {
	var posts []crewjam.IndexedEndpoint
	for _, e := range md.sso.AssertionConsumerServices {
		if e.Binding == crewjam.HTTPPostBinding {
			posts = append(posts, e)
		}
	}
	switch {
	case index != nil && location != "":
		return crewjam.IndexedEndpoint{}, false // mutually exclusive (core 3.4.1)
	case index != nil:
		i := slices.IndexFunc(posts, func(e crewjam.IndexedEndpoint) bool { return e.Index == *index })
		if i < 0 {
			return crewjam.IndexedEndpoint{}, false
		}
		return posts[i], true
	case location != "":
		i := slices.IndexFunc(posts, func(e crewjam.IndexedEndpoint) bool { return e.Location == location })
		if i < 0 {
			return crewjam.IndexedEndpoint{}, false
		}
		return posts[i], true
	}
	if len(posts) == 0 {
		return crewjam.IndexedEndpoint{}, false
	}
	if i := slices.IndexFunc(posts, func(e crewjam.IndexedEndpoint) bool { return e.IsDefault != nil && *e.IsDefault }); i >= 0 {
		return posts[i], true
	}
	if i := slices.IndexFunc(posts, func(e crewjam.IndexedEndpoint) bool { return e.IsDefault == nil }); i >= 0 {
		return posts[i], true
	}
	return posts[0], true
}

// slo returns the SP's single logout endpoint for binding, and the URL
// responses go to; ok is false when the metadata lists none.
func (md *spMetadata) slo(binding string) (location, responseLocation string, ok bool) {
	for _, e := range md.sso.SingleLogoutServices {
		if e.Binding == binding && e.Location != "" {
			resp := e.Location
			if e.ResponseLocation != "" {
				resp = e.ResponseLocation
			}
			return e.Location, resp, true
		}
	}
	return "", "", false
}

// keysOf extracts the SP's certificates from its SPSSODescriptor.
func keysOf(sso *crewjam.SPSSODescriptor, md *spMetadata) error {
	for _, kd := range sso.KeyDescriptors {
		for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xc.Data), ""))
			if err != nil {
				return fmt.Errorf("KeyDescriptor certificate: %w", err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return fmt.Errorf("KeyDescriptor certificate: %w", err)
			}
			if kd.Use == "" || kd.Use == "signing" {
				md.signing = append(md.signing, c)
			}
			if (kd.Use == "" || kd.Use == "encryption") && md.encryption == nil {
				if _, ok := c.PublicKey.(*rsa.PublicKey); !ok {
					continue
				}
				md.encryption = c
				for _, m := range kd.EncryptionMethods {
					md.encMethods = append(md.encMethods, m.Algorithm)
				}
			}
		}
	}
	return nil
}
