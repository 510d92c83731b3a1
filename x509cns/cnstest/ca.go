package cnstest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Names of the real CIE CAs (Ministero dell'Interno), whose subjects are
// encoded CN first: CN, OU, O, C.
const (
	CIERootCN   = "National root CA for the Italian Electronic Identity Card"
	CIESubCA1CN = "Issuing sub CA for the Italian Electronic Identity Card - SUBCA1"
	CIEOU       = "Direz. Centr. per i Servizi Demografici - CNSD"
	CIEOrg      = "Ministero dell'Interno"
)

// DefaultProvider is the organisation (O) of regional CA subjects: real
// "CA Cittadini" roots are run by a trust service provider (Actalis, Poste,
// Aruba) on behalf of the region, whose name is only in the CN.
const DefaultProvider = "Actalis S.p.A."

// CA is a certification authority of the test PKI. The exported fields other
// than Cert, Key and Parent are defaults for what the CA issues from now on;
// set them before issuing, not concurrently with it. Issuing, revoking and
// serving CRLs/OCSP are safe for concurrent use.
type CA struct {
	Cert   *x509.Certificate // the CA certificate
	Key    crypto.Signer     // its private key (*rsa.PrivateKey unless WithKey)
	Parent *CA               // the issuer; nil for a self-signed root

	// Administration is the issuing administration ("Regione Toscana",
	// "Provincia Autonoma di Trento"): the default OU of the cards.
	Administration string
	// CardOrganization is the default O of the cards ("TS-CNS").
	CardOrganization string
	// CardType is the default first digit of card ids ('6': regional).
	CardType byte
	// CardPolicies are the certificate policies of cards by default.
	CardPolicies []Policy
	// CRLDistributionPoints and OCSPServer are embedded in every certificate
	// this CA issues (cards, sub-CAs, responders).
	CRLDistributionPoints []string
	OCSPServer            []string
	// SignatureAlgorithm signs certificates, CRLs and OCSP responses
	// (x509.SHA256WithRSA, or x509.SHA1WithRSA with WithSHA1).
	SignatureAlgorithm x509.SignatureAlgorithm
	// Now is the CA's clock; Rand its source of serials and signatures.
	Now  func() time.Time
	Rand io.Reader

	cie bool // CIE profile: sub-CAs get the SUBCA policy, KU has digitalSignature

	mu        sync.Mutex
	issued    map[string]*x509.Certificate // by serial (decimal)
	revoked   map[string]x509.RevocationListEntry
	crlNumber int64
	cardSeq   int
}

// NewRegionalCA creates a self-signed regional "CA Cittadini" root like the
// real ones: C=IT, O=<provider>, OU=Servizi di Certificazione,
// CN=Regione <region> - CA Cittadini; basicConstraints CA with pathLen 0,
// KeyUsage certSign|crlSign (critical), SubjectKeyId, RSA 2048, SHA-256,
// anyPolicy with a CPS, valid ten years around Now. Its cards get the TS-CNS
// profile, type digit 6 and OU "Regione <region>".
func NewRegionalCA(region string, opts ...CAOption) (*CA, error) {
	cfg := buildConfig(opts)
	admin := cfg.administration
	if admin == "" {
		admin = "Regione " + region
	}
	provider := cfg.provider
	if provider == "" {
		provider = DefaultProvider
	}
	subject := pkix.Name{
		Country:            []string{"IT"},
		Organization:       []string{provider},
		OrganizationalUnit: []string{"Servizi di Certificazione"},
		CommonName:         admin + " - CA Cittadini",
	}
	ca := &CA{Administration: admin, CardOrganization: "TS-CNS", CardType: '6', CardPolicies: []Policy{CNSPolicy()}}
	policies := []Policy{{OID: OIDAnyPolicy, CPS: CNSPolicyCPS}}
	return ca, ca.create(nil, subject, x509.KeyUsageCertSign|x509.KeyUsageCRLSign, 0, policies, cfg)
}

// NewCIERoot creates the self-signed CIE national root (Ministero
// dell'Interno; no path length limit; policy 1.3.76.47.1). Issue cards from
// a sub-CA: root.NewSubCA(CIESubCA1CN).
func NewCIERoot(opts ...CAOption) (*CA, error) {
	cfg := buildConfig(opts)
	ca := &CA{Administration: CIEOrg, CardOrganization: CIEOrg, CardType: '6', CardPolicies: []Policy{CIEPolicy()}, cie: true}
	subject := reversedName(CIERootCN, CIEOU, CIEOrg, "IT")
	ku := x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	policies := []Policy{{OID: OIDPolicyCIERoot, CPS: CIEPolicyCPS}}
	return ca, ca.create(nil, subject, ku, -1, policies, cfg)
}

// reversedName builds a CN, OU, O, C subject in that encoding order.
func reversedName(cn, ou, o, c string) pkix.Name {
	return pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: x509cns.OIDCommonName, Value: cn}, {Type: x509cns.OIDOrganizationalUnit, Value: ou},
		{Type: x509cns.OIDOrganization, Value: o}, {Type: x509cns.OIDCountry, Value: c},
	}}
}

// NewSubCA creates an intermediate CA (pathLen 0) signed by ca, whose subject
// is ca's with the CN replaced by cn (attribute order kept). It inherits the
// card defaults, URLs, signature algorithm, clock and randomness of ca. Under a CIE root it gets
// the SUBCA policy 1.3.76.47.2. A sub-CA of a regional root (pathLen 0)
// yields a chain that must not verify.
func (ca *CA) NewSubCA(cn string, opts ...CAOption) (*CA, error) {
	cfg := buildConfig(opts)
	names := make([]pkix.AttributeTypeAndValue, 0, len(ca.Cert.Subject.Names))
	replaced := false
	for _, atv := range ca.Cert.Subject.Names {
		if atv.Type.Equal(x509cns.OIDCommonName) {
			atv.Value, replaced = cn, true
		}
		names = append(names, atv)
	}
	if !replaced {
		names = append(names, pkix.AttributeTypeAndValue{Type: x509cns.OIDCommonName, Value: cn})
	}
	sub := &CA{
		Administration: ca.Administration, CardOrganization: ca.CardOrganization,
		CardType: ca.CardType, CardPolicies: ca.CardPolicies,
		CRLDistributionPoints: ca.CRLDistributionPoints, OCSPServer: ca.OCSPServer,
		cie: ca.cie,
	}
	if cfg.now == nil {
		cfg.now = ca.Now
	}
	if cfg.rand == nil {
		cfg.rand = ca.Rand
	}
	ku := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	var policies []Policy
	if ca.cie {
		ku |= x509.KeyUsageDigitalSignature
		policies = []Policy{{OID: OIDPolicyCIESubCA, CPS: CIEPolicyCPS}}
	}
	return sub, sub.create(ca, pkix.Name{ExtraNames: names}, ku, 0, policies, cfg)
}

// Rekey returns a new version of ca: the same subject (byte for byte), the
// same parent, card defaults and URLs, but a new key, serial and
// SubjectKeyId, as when a real CA renews its certificate. The two versions
// keep separate revocation state. Options apply as for a new CA.
func (ca *CA) Rekey(opts ...CAOption) (*CA, error) {
	cfg := buildConfig(opts)
	if cfg.now == nil {
		cfg.now = ca.Now
	}
	if cfg.rand == nil {
		cfg.rand = ca.Rand
	}
	if ca.SignatureAlgorithm == x509.SHA1WithRSA {
		cfg.sha1 = true
	}
	next := &CA{
		Administration: ca.Administration, CardOrganization: ca.CardOrganization,
		CardType: ca.CardType, CardPolicies: ca.CardPolicies,
		CRLDistributionPoints: ca.CRLDistributionPoints, OCSPServer: ca.OCSPServer,
		cie: ca.cie,
	}
	policies, err := certPolicies(ca.Cert)
	if err != nil {
		return nil, err
	}
	pathLen := ca.Cert.MaxPathLen
	if !ca.Cert.MaxPathLenZero && pathLen == 0 {
		pathLen = -1
	}
	cfg.rawSubject = ca.Cert.RawSubject
	return next, next.create(ca.Parent, ca.Cert.Subject, ca.Cert.KeyUsage, pathLen, policies, cfg)
}

// certPolicies reads back the policies of a certificate made by this package.
func certPolicies(cert *x509.Certificate) ([]Policy, error) {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oidExtCertificatePolicies) {
			return ParsePolicies(ext.Value)
		}
	}
	return nil, nil
}

// create fills ca's signing state and creates its certificate, self-signed
// when parent is nil. pathLen -1 leaves the path length unlimited.
func (ca *CA) create(parent *CA, subject pkix.Name, ku x509.KeyUsage, pathLen int, policies []Policy, cfg caConfig) error {
	ca.configure(parent, cfg)
	var rawSubject []byte
	if cfg.subject != nil {
		subject = *cfg.subject
	} else {
		rawSubject = cfg.rawSubject
	}
	if cfg.policiesSet {
		policies = cfg.policies
	}
	if err := ca.makeKey(cfg); err != nil {
		return err
	}
	tpl, err := ca.caTemplate(subject, rawSubject, ku, pathLen, policies, cfg)
	if err != nil {
		return err
	}
	if parent == nil || cfg.sha1 {
		tpl.SignatureAlgorithm = ca.SignatureAlgorithm // else the parent's
	}
	if parent == nil {
		return ca.selfSign(tpl)
	}
	cert, err := parent.Issue(tpl, ca.Key.Public())
	if err != nil {
		return err
	}
	ca.Cert, ca.Parent = cert, parent
	return nil
}

// configure sets the CA's clock, randomness, signature algorithm and the
// addresses and administration it writes into the cards it issues.
func (ca *CA) configure(parent *CA, cfg caConfig) {
	ca.Now, ca.Rand = cfg.now, cfg.rand
	if ca.Now == nil {
		ca.Now = time.Now
	}
	if ca.Rand == nil {
		ca.Rand = rand.Reader
	}
	ca.SignatureAlgorithm = x509.SHA256WithRSA
	if parent != nil {
		ca.SignatureAlgorithm = parent.SignatureAlgorithm
	}
	if cfg.sha1 {
		ca.SignatureAlgorithm = x509.SHA1WithRSA
	}
	if len(cfg.crl) > 0 {
		ca.CRLDistributionPoints = cfg.crl
	}
	if len(cfg.ocsp) > 0 {
		ca.OCSPServer = cfg.ocsp
	}
	if cfg.administration != "" {
		ca.Administration = cfg.administration
	}
	ca.issued = map[string]*x509.Certificate{}
	ca.revoked = map[string]x509.RevocationListEntry{}
}

// makeKey takes the configured key or generates one (2048 bits unless set).
func (ca *CA) makeKey(cfg caConfig) error {
	ca.Key = cfg.key
	if ca.Key != nil {
		return nil
	}
	bits := cfg.bits
	if bits == 0 {
		bits = 2048
	}
	k, err := Key(bits)
	if err != nil {
		return err
	}
	ca.Key = k
	return nil
}

// caTemplate is the CA certificate to sign: one year back to ten ahead
// unless configured, with its policies.
func (ca *CA) caTemplate(subject pkix.Name, rawSubject []byte, ku x509.KeyUsage, pathLen int, policies []Policy, cfg caConfig) (*x509.Certificate, error) {
	notBefore, notAfter := cfg.notBefore, cfg.notAfter
	if notBefore.IsZero() {
		notBefore = ca.Now().AddDate(-1, 0, 0).Truncate(time.Second)
	}
	if notAfter.IsZero() {
		notAfter = notBefore.AddDate(10, 0, 0)
	}
	tpl := &x509.Certificate{
		Subject:               subject,
		RawSubject:            rawSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		KeyUsage:              ku,
	}
	if len(policies) > 0 {
		ext, err := PoliciesExtension(policies...)
		if err != nil {
			return nil, err
		}
		tpl.ExtraExtensions = append(tpl.ExtraExtensions, ext)
	}
	if cfg.edit != nil {
		cfg.edit(tpl)
	}
	return tpl, nil
}

// selfSign makes the CA a root: its certificate signed by its own key.
func (ca *CA) selfSign(tpl *x509.Certificate) error {
	serial, err := randomSerial(ca.Rand)
	if err != nil {
		return err
	}
	tpl.SerialNumber = serial
	der, err := x509.CreateCertificate(ca.Rand, tpl, tpl, ca.Key.Public(), ca.Key)
	if err != nil {
		return fmt.Errorf("cnstest: self-sign %q: %w", tpl.Subject.String(), err)
	}
	ca.Cert, err = x509.ParseCertificate(der)
	return err
}
