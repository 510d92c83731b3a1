package demo

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/cnsgate/cnsgate/config"
)

func cmsPorts(cms string) Ports {
	p := testPorts
	p.CMS = cms
	return p
}

func TestPrepareRegistersCMS(t *testing.T) {
	s, err := Prepare(t.TempDir(), cmsPorts("localhost:18082"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadConfig(t, s)
	if len(cfg.SAML.ServiceProviders) != 1 {
		t.Fatalf("%d service providers", len(cfg.SAML.ServiceProviders))
	}
	sp := cfg.SAML.ServiceProviders[0]
	if sp.EntityID != "https://localhost:18082/saml/metadata" || sp.Name != CMSName || sp.HomeURL != "https://localhost:18082/" ||
		sp.MetadataFile != s.CMS.MetadataFile || sp.AttributeProfile != config.ProfileSPID || !sp.SignedRequests() {
		t.Fatalf("service provider %+v", sp)
	}
	if n := len(cfg.SAML.NameIDSalt.Value()); n < 32 {
		t.Fatalf("NameID salt of %d characters", n)
	}
	var md crewjam.EntityDescriptor
	if err := xml.Unmarshal(readFile(t, s.CMS.MetadataFile), &md); err != nil {
		t.Fatal(err)
	}
	if md.EntityID != sp.EntityID || len(md.SPSSODescriptors) != 1 ||
		md.SPSSODescriptors[0].AssertionConsumerServices[0].Location != "https://localhost:18082/saml/acs" {
		t.Fatalf("metadata %+v", md)
	}
	// samlsp has no single-logout handler: no SingleLogoutService for
	// cnsgate to send the browser to at a logout.
	if slo := md.SPSSODescriptors[0].SingleLogoutServices; len(slo) != 0 {
		t.Fatalf("the CMS metadata lists SingleLogoutServices %+v", slo)
	}
	if md.ValidUntil.Before(time.Now().AddDate(1, 0, 0)) {
		t.Fatalf("metadata valid only until %v", md.ValidUntil)
	}
	key, cert, err := s.CMS.LoadKeyPair()
	if err != nil || key.N.BitLen() != 2048 || !key.PublicKey.Equal(cert.PublicKey) {
		t.Fatalf("CMS key pair: %v", err)
	}
	for _, f := range []string{s.samlPath(idpKeyFile), s.samlPath(nameIDSaltFile), s.CMS.KeyFile} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v", f, err)
		}
	}
	// --cms off: no saml section.
	s, err = Prepare(t.TempDir(), testPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readFile(t, s.ConfigFile)), "saml:") {
		t.Fatal("configuration without the CMS has a saml section")
	}
}

// TestPrepareUpgradesSAMLInPlace: a directory from before the CMS (no
// saml/) gets the identity provider's key, the salt and the CMS's key;
// later runs keep them and the metadata follows --cms.
func TestPrepareUpgradesSAMLInPlace(t *testing.T) {
	dir := t.TempDir()
	old, err := Prepare(dir, testPorts, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, samlDir)); err != nil {
		t.Fatal(err)
	}
	dbBefore := readFile(t, filepath.Join(dir, "cnsgate.db"))
	s, err := Prepare(dir, cmsPorts("localhost:18082"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s.Created || old.ConfigFile != s.ConfigFile {
		t.Fatal("an existing directory was created anew")
	}
	if !bytes.Equal(readFile(t, filepath.Join(dir, "cnsgate.db")), dbBefore) {
		t.Error("the registry changed")
	}
	if cfg := loadConfig(t, s); len(cfg.SAML.ServiceProviders) != 1 {
		t.Fatalf("upgraded configuration: %+v", cfg.SAML)
	}
	files := []string{s.samlPath(idpKeyFile), s.samlPath(idpCertFile), s.samlPath(nameIDSaltFile), s.CMS.KeyFile, s.CMS.CertFile}
	before := map[string][]byte{}
	for _, f := range files {
		before[f] = readFile(t, f)
	}
	s, err = Prepare(dir, cmsPorts("127.0.0.1:18092"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !bytes.Equal(readFile(t, f), before[f]) {
			t.Errorf("%s rewritten by a later run", f)
		}
	}
	if !strings.Contains(string(readFile(t, s.CMS.MetadataFile)), "https://127.0.0.1:18092/saml/acs") {
		t.Fatal("the CMS metadata did not follow the port")
	}
	if cfg := loadConfig(t, s); cfg.SAML.ServiceProviders[0].EntityID != "https://127.0.0.1:18092/saml/metadata" {
		t.Fatalf("entity ID did not follow the port: %s", cfg.SAML.ServiceProviders[0].EntityID)
	}
}
