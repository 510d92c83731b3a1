package demo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// The CMS service provider: the card management system of the ASL
// operators, under the origin of Ports.CMS.
const (
	CMSName = "CMS - Gestione tessere"

	// Paths of the service provider (those of crewjam's samlsp).
	CMSMetadataPath = "/saml/metadata"
	CMSACSPath      = "/saml/acs"
)

// ServiceProvider is an example SAML service provider of the demo: what
// the configuration registers for it and what it needs to run.
type ServiceProvider struct {
	EntityID string // its metadata URL
	Name     string
	Addr     string // host:port it listens on
	BaseURL  string // its origin (https://localhost:8082), also its home_url
	// KeyFile and CertFile are its RSA key and self-signed certificate,
	// created once; MetadataFile is its metadata, rewritten at each start
	// (its URLs follow the port).
	KeyFile, CertFile, MetadataFile string
}

// Files of the SAML identity provider, created once in the demo directory.
const (
	samlDir        = "saml"
	idpCertFile    = "idp-signing.crt"
	idpKeyFile     = "idp-signing.key"
	nameIDSaltFile = "name-id-salt"
)

func (s *Setup) samlPath(name string) string { return filepath.Join(s.Dir, samlDir, name) }

// cmsPlan describes the CMS service provider listening on addr.
func (s *Setup) cmsPlan(addr string) *ServiceProvider {
	base := "https://" + originHost(addr)
	return &ServiceProvider{
		EntityID: base + CMSMetadataPath, Name: CMSName, Addr: addr, BaseURL: base,
		KeyFile: s.samlPath("cms-sp.key"), CertFile: s.samlPath("cms-sp.crt"), MetadataFile: s.samlPath("cms-sp-metadata.xml"),
	}
}

// ensureSAML creates whichever of the identity provider's files is
// missing (signing key and certificate, NameID salt) and the CMS's key
// and certificate, then writes the CMS metadata for its current URL.
// Existing keys and the salt are never rewritten.
func (s *Setup) ensureSAML(now time.Time) error {
	if err := os.MkdirAll(filepath.Join(s.Dir, samlDir), 0o700); err != nil {
		return err
	}
	if err := ensureRSAPair(s.samlPath(idpKeyFile), s.samlPath(idpCertFile), "cnsgate demo SAML IdP", now); err != nil {
		return fmt.Errorf("demo SAML signing key: %w", err)
	}
	if err := createOnce(s.samlPath(nameIDSaltFile), randomText(48)); err != nil {
		return fmt.Errorf("demo NameID salt: %w", err)
	}
	if s.CMS == nil {
		return nil
	}
	if err := ensureRSAPair(s.CMS.KeyFile, s.CMS.CertFile, "cnsgate demo CMS", now); err != nil {
		return fmt.Errorf("demo CMS key: %w", err)
	}
	md, err := s.CMS.metadata()
	if err != nil {
		return fmt.Errorf("demo CMS metadata: %w", err)
	}
	return os.WriteFile(s.CMS.MetadataFile, md, 0o644)
}

// LoadKeyPair reads the service provider's RSA key and certificate.
func (sp *ServiceProvider) LoadKeyPair() (*rsa.PrivateKey, *x509.Certificate, error) {
	keyPEM, err := os.ReadFile(sp.KeyFile)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(sp.CertFile)
	if err != nil {
		return nil, nil, err
	}
	k, err := pemfile.PrivateKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", sp.KeyFile, err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not an RSA key", sp.KeyFile)
	}
	certs, err := pemfile.Certificates(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", sp.CertFile, err)
	}
	return key, certs[0], nil
}

// metadata is what crewjam's samlsp publishes at /saml/metadata for this
// service provider, valid for years: cnsgate reads it from the file. It
// lists no SingleLogoutService: samlsp has no single-logout handler, so
// cnsgate must not send the citizen's browser there (front-channel
// logout) when the citizen logs out; the CMS session is its own cookie.
func (sp *ServiceProvider) metadata() ([]byte, error) {
	key, cert, err := sp.LoadKeyPair()
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(sp.BaseURL)
	if err != nil {
		return nil, err
	}
	at := func(p string) url.URL { return *base.ResolveReference(&url.URL{Path: p}) }
	m := crewjam.ServiceProvider{
		EntityID: sp.EntityID, Key: key, Certificate: cert,
		MetadataURL: at(CMSMetadataPath), AcsURL: at(CMSACSPath),
		AuthnNameIDFormat: crewjam.PersistentNameIDFormat, SignatureMethod: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		MetadataValidDuration: 10 * 365 * 24 * time.Hour,
	}
	out, err := xml.MarshalIndent(m.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ensureRSAPair creates an RSA 2048 key and a ten-year self-signed
// certificate for it unless the key file exists.
func ensureRSAPair(keyFile, certFile, cn string, now time.Time) error {
	if _, err := os.Stat(keyFile); err == nil {
		if _, err := os.Stat(certFile); err == nil {
			return nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return err
	}
	tpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"cnsgate demo"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyPEM, err := pemfile.EncodePrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeSAMLConfig appends the saml section registering the CMS.
func (s *Setup) writeSAMLConfig(b *strings.Builder) {
	if s.CMS == nil {
		return
	}
	fmt.Fprintf(b, "saml:\n  cert_file: %q\n  key_file: %q\n  name_id_salt_file: %q\n  service_providers:\n",
		s.samlPath(idpCertFile), s.samlPath(idpKeyFile), s.samlPath(nameIDSaltFile))
	fmt.Fprintf(b, "    - entity_id: %q\n      name: %q\n      metadata_file: %q\n", s.CMS.EntityID, s.CMS.Name, s.CMS.MetadataFile)
	fmt.Fprintf(b, "      attribute_profile: spid\n      name_id_format: persistent\n      require_signed_requests: true\n      home_url: %q\n", s.CMS.BaseURL+"/")
}
