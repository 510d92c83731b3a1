package cnstest

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// CardOptions selects the card certificate IssueCard mints. The zero value
// is the real TS-CNS authentication profile; every field departs from it in
// one way, so each rejection case of a validator is one field away.
type CardOptions struct {
	// Identity in the subject. Empty FiscalCode and CardID get generated,
	// valid values (FiscalCode, CardID) with a random index drawn from the
	// CA's Rand; CardType (default CA.CardType, '6') is the card id's first
	// digit: 5 national, 6 regional, 7 other, 8 or 9 operator.
	FiscalCode string
	CardID     string
	CardType   byte
	// Hash forces the base64 SHA-1 after the last '.' of the CN (default
	// CardHash, which always contains '/' and '+').
	Hash string
	// BadCheckChar replaces the fiscal code's check character with a wrong
	// one, keeping the syntax valid.
	BadCheckChar bool
	// GivenName and FamilyName add GN and SN attributes (absent by default,
	// as on several issuers); DNQualifier adds a dnQualifier attribute.
	GivenName, FamilyName string
	DNQualifier           string
	// Organization and OrganizationalUnit override O ("TS-CNS") and OU (the
	// CA's Administration).
	Organization, OrganizationalUnit string
	// CommonName replaces the computed CN, keeping the other attributes.
	CommonName string
	// SerialNumberPrefix ("IT:" or "TINIT-") issues a qualified-signature
	// style subject: serialNumber=<prefix><CF>, SN and GN (default ROSSI,
	// MARIO) and a CN that is only the name, with no card id.
	SerialNumberPrefix string
	// Subject replaces the whole subject; RawSubject (DER RDNSequence) wins
	// over everything, for oddities crypto/x509 would not encode.
	Subject    *pkix.Name
	RawSubject []byte

	// NotBefore and NotAfter override the validity (default: from an hour
	// before the CA's Now, for six years).
	NotBefore, NotAfter time.Time

	// Policies replace the CA's CardPolicies (CNSPolicy for regional CAs);
	// NoPolicies leaves the certificatePolicies extension out.
	Policies   []Policy
	NoPolicies bool
	// ExtKeyUsage replaces clientAuth; NoEKU leaves the extension out.
	ExtKeyUsage []x509.ExtKeyUsage
	NoEKU       bool
	// KeyUsage replaces digitalSignature (always critical); NoKeyUsage leaves
	// the extension out.
	KeyUsage   x509.KeyUsage
	NoKeyUsage bool

	// KeyBits is the RSA size (default 2048; 1024 for old cards). Key
	// supplies the key. Otherwise the key is one of SharedKeys shared keys
	// of that size, or a key of its own with UniqueKey.
	KeyBits   int
	Key       *rsa.PrivateKey
	UniqueKey bool

	// SHA1 signs the card with SHA-1 whatever the CA's SignatureAlgorithm.
	SHA1 bool
	// Serial overrides the random serial number.
	Serial *big.Int
	// ExtraExtensions are appended as they are.
	ExtraExtensions []pkix.Extension
	// IsCA marks the card basicConstraints CA:TRUE: a CA certificate
	// presented as a card.
	IsCA bool
}

// Card is an issued card certificate with its key.
type Card struct {
	Cert *x509.Certificate // the card's authentication certificate
	Key  *rsa.PrivateKey   // its private key
	// Chain holds the intermediates a client presents after the leaf,
	// issuer first; empty for cards of a regional root.
	Chain []*x509.Certificate
	CA    *CA // the issuer
	// FiscalCode, CardID and Hash are what went into the subject (after
	// BadCheckChar); CardID and Hash are empty for serialNumber-style
	// subjects. Subject overrides are not reflected here.
	FiscalCode, CardID, Hash string
}

// IssueCard issues a card authentication certificate. By default: subject
// C=IT, O=TS-CNS, OU=<CA.Administration>, CN=<CF>/<CARDID>.<HASH>;
// certificate policy 1.3.76.16.2.1 with CPS and user-notice qualifiers;
// KeyUsage digitalSignature (critical); EKU clientAuth; the CA's CRL
// distribution points and OCSP URLs; a random serial; RSA 2048; the CA's
// signature algorithm; valid six years.
func (ca *CA) IssueCard(opts CardOptions) (*Card, error) {
	ca.mu.Lock()
	seq := ca.cardSeq
	ca.cardSeq++
	ca.mu.Unlock()

	card := &Card{CA: ca, Chain: ca.Intermediates(), FiscalCode: opts.FiscalCode, CardID: opts.CardID}
	if err := ca.fillCardIdentity(card, opts); err != nil {
		return nil, err
	}
	key, err := cardKey(opts, seq)
	if err != nil {
		return nil, err
	}
	card.Key = key
	tpl, err := ca.cardTemplate(opts)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.RawSubject != nil:
		tpl.RawSubject = opts.RawSubject
	case opts.Subject != nil:
		tpl.Subject = *opts.Subject
	default:
		tpl.Subject = ca.cardSubject(card, opts)
	}
	cert, err := ca.Issue(tpl, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	card.Cert = cert
	return card, nil
}

// fillCardIdentity gives card the fiscal code and card id that opts leave
// out, drawn from the CA's randomness, and spoils the check character
// when opts ask for it.
func (ca *CA) fillCardIdentity(card *Card, opts CardOptions) error {
	if card.FiscalCode == "" || card.CardID == "" {
		idx, err := randomIndex(ca.Rand)
		if err != nil {
			return err
		}
		if card.FiscalCode == "" {
			card.FiscalCode = FiscalCode(idx)
		}
		if card.CardID == "" {
			typ := opts.CardType
			if typ == 0 {
				typ = ca.CardType
			}
			card.CardID = CardID(typ, idx)
		}
	}
	if opts.BadCheckChar {
		card.FiscalCode = WrongCheckChar(card.FiscalCode)
	}
	return nil
}

// cardTemplate is the CNS authentication profile as opts change it:
// validity, key usages, signature algorithm and policies.
func (ca *CA) cardTemplate(opts CardOptions) (*x509.Certificate, error) {
	tpl := &x509.Certificate{
		SerialNumber:    opts.Serial,
		NotBefore:       opts.NotBefore,
		NotAfter:        opts.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: opts.ExtraExtensions,
	}
	if tpl.NotBefore.IsZero() {
		tpl.NotBefore = ca.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if tpl.NotAfter.IsZero() {
		tpl.NotAfter = tpl.NotBefore.AddDate(6, 0, 0)
	}
	cardUsages(tpl, opts)
	if opts.IsCA {
		tpl.BasicConstraintsValid, tpl.IsCA = true, true
	}
	if opts.SHA1 {
		tpl.SignatureAlgorithm = x509.SHA1WithRSA
	}
	policies := ca.CardPolicies
	if opts.Policies != nil {
		policies = opts.Policies
	}
	if !opts.NoPolicies && len(policies) > 0 {
		ext, err := PoliciesExtension(policies...)
		if err != nil {
			return nil, err
		}
		tpl.ExtraExtensions = append([]pkix.Extension{ext}, tpl.ExtraExtensions...)
	}
	return tpl, nil
}

// cardUsages applies the key usage and extended key usage opts ask for.
func cardUsages(tpl *x509.Certificate, opts CardOptions) {
	switch {
	case opts.NoKeyUsage:
		tpl.KeyUsage = 0
	case opts.KeyUsage != 0:
		tpl.KeyUsage = opts.KeyUsage
	}
	switch {
	case opts.NoEKU:
		tpl.ExtKeyUsage = nil
	case opts.ExtKeyUsage != nil:
		tpl.ExtKeyUsage = opts.ExtKeyUsage
	}
}

// cardSubject builds C, O, OU, [SN, GN], [serialNumber], [dnQualifier], CN,
// in that order, and fills card.Hash.
func (ca *CA) cardSubject(card *Card, opts CardOptions) pkix.Name {
	org, ou := opts.Organization, opts.OrganizationalUnit
	if org == "" {
		org = ca.CardOrganization
	}
	if ou == "" {
		ou = ca.Administration
	}
	gn, sn := opts.GivenName, opts.FamilyName
	var cn, serialNumber string
	if opts.SerialNumberPrefix != "" {
		if gn == "" {
			gn = "MARIO"
		}
		if sn == "" {
			sn = "ROSSI"
		}
		cn = gn + " " + sn
		serialNumber = opts.SerialNumberPrefix + card.FiscalCode
		card.CardID = ""
	} else {
		card.Hash = opts.Hash
		if card.Hash == "" {
			card.Hash = CardHash(card.FiscalCode, card.CardID)
		}
		cn = CNSCommonName(card.FiscalCode, card.CardID, card.Hash)
	}
	if opts.CommonName != "" {
		cn = opts.CommonName
	}
	atv := func(oid asn1.ObjectIdentifier, v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oid, Value: v}
	}
	names := []pkix.AttributeTypeAndValue{atv(x509cns.OIDCountry, "IT")}
	if org != "" {
		names = append(names, atv(x509cns.OIDOrganization, org))
	}
	if ou != "" {
		names = append(names, atv(x509cns.OIDOrganizationalUnit, ou))
	}
	if sn != "" {
		names = append(names, atv(x509cns.OIDSurname, sn))
	}
	if gn != "" {
		names = append(names, atv(x509cns.OIDGivenName, gn))
	}
	if serialNumber != "" {
		names = append(names, atv(x509cns.OIDSerialNumber, serialNumber))
	}
	if opts.DNQualifier != "" {
		names = append(names, atv(x509cns.OIDDNQualifier, opts.DNQualifier))
	}
	names = append(names, atv(x509cns.OIDCommonName, cn))
	return pkix.Name{ExtraNames: names}
}

func cardKey(opts CardOptions, seq int) (*rsa.PrivateKey, error) {
	if opts.Key != nil {
		return opts.Key, nil
	}
	bits := opts.KeyBits
	if bits == 0 {
		bits = 2048
	}
	if opts.UniqueKey {
		return Key(bits)
	}
	return SharedKey(bits, seq)
}

// randomIndex draws an index for FiscalCode and CardID.
func randomIndex(r io.Reader) (int, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("cnstest: random index: %w", err)
	}
	return int(binary.BigEndian.Uint64(b[:]) % uint64(fcSpace)), nil
}

// MustIssueCard is IssueCard for tests: it panics on error.
func (ca *CA) MustIssueCard(opts CardOptions) *Card {
	c, err := ca.IssueCard(opts)
	if err != nil {
		panic(err)
	}
	return c
}

// TLSCertificate returns the card as a client certificate: the leaf then the
// intermediates, with the private key and Leaf set.
func (c *Card) TLSCertificate() tls.Certificate {
	chain := [][]byte{c.Cert.Raw}
	for _, ic := range c.Chain {
		chain = append(chain, ic.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: c.Key, Leaf: c.Cert}
}

// Intermediates returns the card's Chain as a pool, for
// x509.VerifyOptions.Intermediates.
func (c *Card) Intermediates() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, ic := range c.Chain {
		pool.AddCert(ic)
	}
	return pool
}
