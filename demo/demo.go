package demo

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// DemoCAName is the common name of the demo card CA.
const DemoCAName = "Regione Demo - CA Cittadini"

// Paths of the demo CA's CRL and OCSP responder on the admin listener.
const (
	CRLPath  = "/demo/ca.crl"
	OCSPPath = "/demo/ocsp"
)

// Ports is where the demo listens.
type Ports struct {
	Public, CNS, Admin string // host:port
	// Esenzioni is the example OIDC relying party's address; empty leaves
	// it out of the configuration.
	Esenzioni string
	// CMS is the example SAML service provider's address; empty leaves it
	// out of the configuration.
	CMS string
	// Console is the security team's console (listen.console); empty
	// leaves it out. It logs in through the OpenID Provider, which the
	// demo configures with Esenzioni: without Esenzioni it is off.
	Console string
}

// DefaultPorts are the demo's addresses of the Contract.
var DefaultPorts = Ports{Public: "localhost:8443", CNS: "localhost:8444", Admin: "127.0.0.1:9464", Esenzioni: "localhost:8081", CMS: "localhost:8082",
	Console: "localhost:8445"}

// Card is a demo card written to disk.
type Card struct {
	Name        string // file stem: citizen, operator, expired, ...
	Description string
	FiscalCode  string
	CertFile    string
	KeyFile     string
	ChainFile   string // leaf then intermediates
}

// Setup is a prepared demo directory.
type Setup struct {
	Dir        string
	ConfigFile string
	TLSCAFile  string // the CA of the localhost server certificate (curl --cacert)
	// TLSRootsDir holds the demo TLS CA alone, for tools outside cnsgate
	// that read a directory of roots (SSL_CERT_DIR).
	TLSRootsDir string
	TrustDir    string
	Cards       []Card
	// Esenzioni is the example OIDC relying party; nil when left out.
	Esenzioni *RelyingParty
	// CMS is the example SAML service provider; nil when left out.
	CMS     *ServiceProvider
	Created bool // false when an existing directory was reused
}

// Prepare creates dir on first use (PKI, cards, TLS certificate, token
// signing key, secrets, config.yaml) and reuses it afterwards: a directory
// from an earlier version gets the files it lacks, and what it has is kept.
// ports fills the configuration's listeners and origins.
func Prepare(dir string, ports Ports, now time.Time) (*Setup, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Setup{
		Dir:         abs,
		ConfigFile:  filepath.Join(abs, "config.yaml"),
		TLSCAFile:   filepath.Join(abs, "tls", "ca.crt"),
		TLSRootsDir: filepath.Join(abs, "tls", "roots"),
		TrustDir:    filepath.Join(abs, "trust"),
	}
	s.Cards = cardPlan(abs)
	if ports.Esenzioni != "" {
		s.Esenzioni = s.esenzioniPlan(ports.Esenzioni)
	}
	if ports.CMS != "" {
		s.CMS = s.cmsPlan(ports.CMS)
	}
	if _, err := os.Stat(filepath.Join(abs, "cards", "citizen.crt")); err == nil {
		// Reuse: the PKI stays, the configuration follows the ports asked for.
		return s, s.finish(ports, now)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s.Created = true
	for _, sub := range []string{"trust", "tls", "cards", "pki"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, err
		}
	}
	if err := s.makeCardPKI(now); err != nil {
		return nil, err
	}
	if err := s.makeTLS(now); err != nil {
		return nil, err
	}
	return s, s.finish(ports, now)
}

// finish adds what a new or reused directory may lack, then writes the
// configuration.
func (s *Setup) finish(ports Ports, now time.Time) error {
	if err := s.ensureTLSRoots(); err != nil {
		return err
	}
	if err := s.ensureCIE(now); err != nil {
		return err
	}
	if err := s.ensurePKCS12(); err != nil {
		return err
	}
	if err := s.ensureOIDC(); err != nil {
		return err
	}
	if err := s.ensureSAML(now); err != nil {
		return err
	}
	if err := s.ensureFederation(); err != nil {
		return err
	}
	return s.writeConfig(ports)
}

// Card returns the demo card of that name (citizen, unregistered, ...).
func (s *Setup) Card(name string) (Card, bool) {
	for _, c := range s.Cards {
		if c.Name == name {
			return c, true
		}
	}
	return Card{}, false
}

// cardPlan lists the demo cards and where they live.
func cardPlan(dir string) []Card {
	cards := []Card{
		{Name: "citizen", Description: "registered citizen (Mario Rossi)", FiscalCode: "RSSMRA85T10A562S"},
		{Name: "unregistered", Description: "valid card, not registered yet: try \"Registra TS-CNS\" (Anna Verdi)", FiscalCode: "VRDNNA90D45L219X"},
		{Name: "operator", Description: "ASL operator card, card type 8, roles operatore_asl (Laura Bianchi)", FiscalCode: "BNCLRA70A41H501V"},
		{Name: "expired", Description: "expired citizen card (refused: expired)", FiscalCode: "VRDGPP60C15F205X"},
		{Name: "revoked", Description: "registered card listed in the demo CRL (refused: revoked)", FiscalCode: "NRELCU75B12F839X"},
		{Name: "security", Description: "security team's operator card, card type 8, role security: logs in to the console (Paola Conti)", FiscalCode: DemoSecurityFiscalCode},
		cieCard(),
	}
	for i := range cards {
		c := &cards[i]
		c.FiscalCode = fixCheck(c.FiscalCode) // the check character the card carries
		base := filepath.Join(dir, "cards", c.Name)
		c.CertFile, c.KeyFile, c.ChainFile = base+".crt", base+".key", base+"-fullchain.crt"
	}
	return cards
}

func (s *Setup) makeCardPKI(now time.Time) error {
	clock := func() time.Time { return now }
	ca, err := cnstest.NewRegionalCA("Demo", cnstest.WithNow(clock))
	if err != nil {
		return err
	}
	if _, err := cnstest.WriteCAFiles(s.TrustDir, ca); err != nil {
		return err
	}
	key, err := ca.KeyPEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pki", "ca.crt"), ca.CertPEM(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "pki", "ca.key"), key, 0o600); err != nil {
		return err
	}
	var registered []*cnstest.Card
	for _, c := range s.Cards {
		if c.Name == "cie" { // issued by the CIE chain: see ensureCIE
			continue
		}
		card, err := ca.IssueCard(demoCardOptions(c, now))
		if err != nil {
			return fmt.Errorf("demo card %s: %w", c.Name, err)
		}
		if _, err := card.WriteFiles(filepath.Join(s.Dir, "cards"), c.Name); err != nil {
			return err
		}
		if c.Name == "citizen" || c.Name == "operator" || c.Name == "revoked" || c.Name == "security" {
			registered = append(registered, card)
		}
	}
	return s.registerCards(registered)
}

// demoCardOptions gives each demo card its holder and, for the expired
// one, a validity that ended a year ago.
func demoCardOptions(c Card, now time.Time) cnstest.CardOptions {
	opts := cnstest.CardOptions{FiscalCode: fixCheck(c.FiscalCode), UniqueKey: true,
		GivenName: "MARIO", FamilyName: "ROSSI"}
	switch c.Name {
	case "unregistered":
		opts.GivenName, opts.FamilyName = "ANNA", "VERDI"
	case "operator":
		opts.CardType, opts.GivenName, opts.FamilyName = '8', "LAURA", "BIANCHI"
	case "security":
		opts.CardType, opts.GivenName, opts.FamilyName = '8', "PAOLA", "CONTI"
	case "revoked":
		opts.GivenName, opts.FamilyName = "LUCA", "NERI"
	case "expired":
		opts.GivenName, opts.FamilyName = "GIUSEPPE", "VERDI"
		opts.NotBefore, opts.NotAfter = now.AddDate(-7, 0, 0), now.AddDate(-1, 0, 0)
	}
	return opts
}

// The demo operator's role and organisation.
const (
	DemoOperatorRole = "operatore_asl"
	// DemoSecurityRole is the role of the security card's operator: the
	// console's (console.role).
	DemoSecurityRole       = "security"
	DemoSecurityFiscalCode = "CNTPLA80A41H501X" // the check character is fixed by fixCheck
	DemoOrganisationID     = "120999"
	DemoOrganisationName   = "ASL Demo"
)

// registerCards stores the demo's registered citizen and operator, so that
// they log in at once; the operator gets the roles the CMS expects.
func (s *Setup) registerCards(cards []*cnstest.Card) error {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, s.databaseFile())
	if err != nil {
		return fmt.Errorf("demo registry: %w", err)
	}
	defer db.Close()
	for _, card := range cards {
		id, err := x509cns.ExtractIdentity(card.Cert, card.CA.Cert)
		if err != nil {
			return fmt.Errorf("demo card: %w", err)
		}
		if _, _, err := db.Register(ctx, registry.Registration{
			FiscalCode: id.FiscalCode, CardID: id.CardID, Issuer: id.Issuer, Serial: id.Serial, Fingerprint: id.Fingerprint,
			GivenName: id.GivenName, FamilyName: id.FamilyName, Region: id.Region, CardType: string(id.CardType),
		}); err != nil {
			return fmt.Errorf("demo registration: %w", err)
		}
		if id.CardType == x509cns.CardTypeOperator {
			roles := []string{DemoOperatorRole}
			if id.FiscalCode == fixCheck(DemoSecurityFiscalCode) {
				roles = []string{DemoSecurityRole}
			}
			op := registry.Operator{FiscalCode: id.FiscalCode, Roles: roles,
				Organisation: DemoOrganisationID, OrganisationName: DemoOrganisationName}
			if err := db.PutOperator(ctx, op); err != nil {
				return fmt.Errorf("demo operator: %w", err)
			}
		}
	}
	return nil
}

func (s *Setup) databaseFile() string { return filepath.Join(s.Dir, "cnsgate.db") }

// fixCheck makes the check character of a demo fiscal code right.
func fixCheck(cf string) string {
	c, err := x509cns.FiscalCodeCheckChar(cf[:15])
	if err != nil {
		panic("demo: bad built-in fiscal code " + cf)
	}
	return cf[:15] + string(c)
}

// makeTLS mints a demo TLS CA and a server certificate for localhost.
func (s *Setup) makeTLS(now time.Time) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cnsgate demo TLS CA", Organization: []string{"cnsgate demo"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	srvTpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		return err
	}
	files := []struct {
		name, typ string
		der       []byte
		mode      os.FileMode
	}{
		{"ca.crt", "CERTIFICATE", caDER, 0o644},
		{"server.crt", "CERTIFICATE", srvDER, 0o644},
		{"server.key", "PRIVATE KEY", keyDER, 0o600},
	}
	for _, f := range files {
		data := pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der})
		if err := os.WriteFile(filepath.Join(s.Dir, "tls", f.name), data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// ConfirmRelease writes login.confirm_release: true into the configuration
// just written (SetConfirmRelease(true)).
func (s *Setup) ConfirmRelease() error { return s.SetConfirmRelease(true) }

// SetConfirmRelease writes login.confirm_release into the configuration
// just written (`cnsgate demo --confirm-release`, true unless
// `--confirm-release=false`): with true, the data-release page before a
// relying party first receives a citizen's data.
func (s *Setup) SetConfirmRelease(on bool) error {
	f, err := os.OpenFile(s.ConfigFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "login:\n  confirm_release: %t\n", on); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeConfig writes config.yaml for the given ports.
func (s *Setup) writeConfig(p Ports) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# cnsgate demo configuration, written by `cnsgate demo` and rewritten at each\n")
	fmt.Fprintf(&b, "# start from --public/--cns/--admin/--esenzioni/--cms: copy it to experiment.\n")
	fmt.Fprintf(&b, "issuer: https://%s\n", originHost(p.Public))
	fmt.Fprintf(&b, "cns_origin: https://%s\n", originHost(p.CNS))
	fmt.Fprintf(&b, "listen:\n  public: %q\n  cns: %q\n  admin: %q\n", p.Public, p.CNS, p.Admin)
	if p.Console != "" && p.Esenzioni != "" {
		fmt.Fprintf(&b, "  console: %q\nconsole:\n  origin: https://%s\n", p.Console, originHost(p.Console))
	}
	fmt.Fprintf(&b, "tls:\n  cert_file: %s\n  key_file: %s\n", filepath.Join(s.Dir, "tls", "server.crt"), filepath.Join(s.Dir, "tls", "server.key"))
	fmt.Fprintf(&b, "trust:\n  ca_dirs: [%s]\n", s.TrustDir)
	// The demo CA's CRL and OCSP are served by the demo process itself on
	// the admin listener (see Setup.CAHandlers).
	admin := originHost(p.Admin)
	fmt.Fprintf(&b, "revocation:\n  mode: crl_then_ocsp\n  crl_urls:\n    %q: [\"http://%s%s\"]\n    %q: [\"http://%s%s\"]\n    %q: [\"http://%s%s\"]\n  ocsp_url: http://%s%s\n",
		DemoCAName, admin, CRLPath, cnstest.CIESubCA1CN, admin, CIECRLPath, cnstest.CIERootCN, admin, CIERootCRLPath, admin, OCSPPath)
	fmt.Fprintf(&b, "sessions:\n  store: memory\n")
	fmt.Fprintf(&b, "registry:\n  driver: sqlite\n  dsn: %s\n", s.databaseFile())
	fmt.Fprintf(&b, "log:\n  format: text\n")
	// No load balancer waits for the demo's readiness to turn false.
	fmt.Fprintf(&b, "shutdown:\n  drain: 0s\n")
	// The footer's pages are the demo's own (InfoHandlers); the logo and
	// the help desk are demonstration ones.
	logo, err := s.writeLogo()
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "web:\n  timezone: Europe/Rome\n  brand:\n    name: Amministrazione dimostrativa\n    logo_file: %s\n", logo)
	fmt.Fprintf(&b, "  links:\n    accessibility: http://%s%s\n    privacy: http://%s%s\n    legal: http://%s%s\n",
		admin, AccessibilityPath, admin, PrivacyPath, admin, LegalPath)
	fmt.Fprintf(&b, "  help:\n    phone: 800 000 000\n    hours: lunedì-venerdì 8:30-17:30\n    email: assistenza@example.invalid\n")
	if err := s.writeOIDCConfig(&b); err != nil {
		return err
	}
	if err := s.writeFederationConfig(&b, "https://"+originHost(p.Public)); err != nil {
		return err
	}
	s.writeSAMLConfig(&b)
	return os.WriteFile(s.ConfigFile, []byte(b.String()), 0o644)
}
