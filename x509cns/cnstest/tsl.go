package cnstest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// ETSI TS 119 612 service types and statuses the test lists use.
const (
	TSLServiceIdV       = "http://uri.etsi.org/TrstSvc/Svctype/IdV"
	TSLServiceCAQC      = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
	TSLServiceCAPKC     = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
	TSLServiceTSA       = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
	TSLStatusGranted    = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	TSLStatusRecognised = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel"
	TSLStatusWithdrawn  = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
)

const tslNS = "http://uri.etsi.org/02231/v2#"

// TrustedList is an ETSI TS 119 612 trusted list shaped like AgID's
// TSL-IT.xml: SchemeInformation with its sequence number and times, then
// one TrustServiceProvider per TSP, each service with its certificates.
type TrustedList struct {
	ID         string    // Id attribute of the root; "" for none (the signature then references URI="")
	Sequence   int       // TSLSequenceNumber; 0 means 1
	IssuedAt   time.Time // ListIssueDateTime; zero means now
	NextUpdate time.Time // NextUpdate/dateTime; zero means IssuedAt + 6 months
	Providers  []TSLProvider
}

// TSLProvider is a trust service provider and its services.
type TSLProvider struct {
	Name     string
	Services []TSLService
}

// TSLService is one TSPService: its type, name, current status and the
// certificates of its ServiceDigitalIdentity.
type TSLService struct {
	Type, Name, Status string
	Certs              []*x509.Certificate
}

// XML returns the unsigned list.
func (l TrustedList) XML() []byte { return []byte(l.build("")) }

func (l TrustedList) build(signature string) string {
	seq := l.Sequence
	if seq == 0 {
		seq = 1
	}
	issued := l.IssuedAt
	if issued.IsZero() {
		issued = time.Now()
	}
	next := l.NextUpdate
	if next.IsZero() {
		next = issued.AddDate(0, 6, 0)
	}
	var b strings.Builder
	text := func(tag, s string) {
		b.WriteString("<tsl:" + tag + ">")
		_ = xml.EscapeText(&b, []byte(s))
		b.WriteString("</tsl:" + tag + ">")
	}
	name := func(tag, s string) {
		b.WriteString("<tsl:" + tag + `><tsl:Name xml:lang="it">`)
		_ = xml.EscapeText(&b, []byte(s))
		b.WriteString("</tsl:Name></tsl:" + tag + ">")
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<tsl:TrustServiceStatusList xmlns:tsl="` + tslNS + `" TSLTag="http://uri.etsi.org/19612/TSLTag"`)
	if l.ID != "" {
		b.WriteString(` Id="` + l.ID + `"`)
	}
	b.WriteString(">\n<tsl:SchemeInformation>")
	text("TSLVersionIdentifier", "5")
	text("TSLSequenceNumber", strconv.Itoa(seq))
	text("TSLType", "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric")
	name("SchemeOperatorName", "AgID - Agenzia per l'Italia Digitale (test)")
	text("SchemeTerritory", "IT")
	text("ListIssueDateTime", issued.UTC().Format(time.RFC3339))
	b.WriteString("<tsl:NextUpdate>")
	text("dateTime", next.UTC().Format(time.RFC3339))
	b.WriteString("</tsl:NextUpdate></tsl:SchemeInformation>\n<tsl:TrustServiceProviderList>")
	for _, p := range l.Providers {
		b.WriteString("\n<tsl:TrustServiceProvider><tsl:TSPInformation>")
		name("TSPName", p.Name)
		b.WriteString("</tsl:TSPInformation><tsl:TSPServices>")
		for _, s := range p.Services {
			b.WriteString("<tsl:TSPService><tsl:ServiceInformation>")
			text("ServiceTypeIdentifier", s.Type)
			name("ServiceName", s.Name)
			b.WriteString("<tsl:ServiceDigitalIdentity>")
			for _, c := range s.Certs {
				b.WriteString("<tsl:DigitalId>")
				text("X509Certificate", base64.StdEncoding.EncodeToString(c.Raw))
				b.WriteString("</tsl:DigitalId>")
			}
			b.WriteString("</tsl:ServiceDigitalIdentity>")
			text("ServiceStatus", s.Status)
			text("StatusStartingTime", "2016-07-01T00:00:00Z")
			b.WriteString("</tsl:ServiceInformation></tsl:TSPService>")
		}
		b.WriteString("</tsl:TSPServices></tsl:TrustServiceProvider>")
	}
	b.WriteString("\n</tsl:TrustServiceProviderList>" + signature + "</tsl:TrustServiceStatusList>\n")
	return b.String()
}

// SignatureTemplate returns the list with an empty enveloped XML signature
// (exclusive c14n, RSA-SHA256, SHA-256 digest, the signer's certificate in
// KeyInfo) for an outside signer to fill: xmlsec1 --sign.
func (l TrustedList) SignatureTemplate() []byte {
	uri := ""
	if l.ID != "" {
		uri = "#" + l.ID
	}
	const exc = "http://www.w3.org/2001/10/xml-exc-c14n#"
	sig := `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="tsl-signature"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="` + exc + `"/>` +
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
		`<ds:Reference URI="` + uri + `"><ds:Transforms>` +
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="` + exc + `"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue>` +
		`</ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>` +
		`<ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>`
	return []byte(l.build(sig))
}

// TSLSigner is the key and certificate of a trusted list's scheme
// operator (AgID's signing certificate in the real list).
type TSLSigner struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// NewTSLSigner makes a signer with a fresh key from the pool and a
// self-signed certificate valid from a year ago for three years.
func NewTSLSigner(cn string) (*TSLSigner, error) {
	key, err := Key(2048)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Country: []string{"IT"}, Organization: []string{"AgID (test)"}, CommonName: cn},
		NotBefore:    now.AddDate(-1, 0, 0),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &TSLSigner{Key: key, Cert: cert}, nil
}

// Sign returns l with an enveloped signature made by goxmldsig (exclusive
// c14n, RSA-SHA256), the signer's certificate in KeyInfo.
func (s *TSLSigner) Sign(l TrustedList) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(l.XML()); err != nil {
		return nil, err
	}
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.IdAttribute = "Id"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(doc.Root())
	if err != nil {
		return nil, fmt.Errorf("cnstest: sign the trusted list: %w", err)
	}
	doc.SetRoot(signed)
	return doc.WriteToBytes()
}

// KeyPEM returns the signer's private key in PKCS#8 PEM, for an outside
// signer (xmlsec1 --privkey-pem key,cert).
func (s *TSLSigner) KeyPEM() ([]byte, error) { return keyPEM(s.Key) }
