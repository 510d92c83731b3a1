package x509cns

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Building small ETSI TS 119 612 documents for the TSL tests.

const (
	svcTypeQTST      = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
	statusGranted    = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	statusRecognised = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel"
	statusWithdrawn  = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
)

type testService struct {
	tsp, name, typ, status string
	certs, history         [][]byte // DER, as published (not re-encoded by a lenient parse)
	rawCert                string   // an X509Certificate element's text as is
	skiOnly                bool     // a DigitalId with X509SKI only
}

type tslDoc struct {
	id       string // Id attribute of the root, "" for none
	prefix   string // "tsl" or "" for a default namespace
	ns       string // "" means the TS 119 612 namespace
	services []testService
}

func (d tslDoc) build() []byte {
	var b strings.Builder
	p := ""
	if d.prefix != "" {
		p = d.prefix + ":"
	}
	ns := d.ns
	if ns == "" {
		ns = tslNamespace
	}
	open := func(tag string) { b.WriteString("<" + p + tag + ">") }
	closeTag := func(tag string) { b.WriteString("</" + p + tag + ">") }
	text := func(tag, s string) {
		open(tag)
		_ = xml.EscapeText(&b, []byte(s))
		closeTag(tag)
	}
	name := func(tag, s string) {
		open(tag)
		b.WriteString("<" + p + `Name xml:lang="it">`)
		_ = xml.EscapeText(&b, []byte(s))
		closeTag("Name")
		closeTag(tag)
	}
	identity := func(certs [][]byte, raw string, skiOnly bool) {
		open("ServiceDigitalIdentity")
		for _, der := range certs {
			open("DigitalId")
			text("X509Certificate", base64.StdEncoding.EncodeToString(der))
			closeTag("DigitalId")
		}
		if raw != "" {
			open("DigitalId")
			text("X509Certificate", raw)
			closeTag("DigitalId")
		}
		if skiOnly {
			open("DigitalId")
			text("X509SKI", "RJ8Zh3UD6H8yxmqsAUvOoMmO4AA=")
			closeTag("DigitalId")
		}
		closeTag("ServiceDigitalIdentity")
	}

	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString("<" + p + "TrustServiceStatusList")
	if d.prefix != "" {
		b.WriteString(` xmlns:` + d.prefix + `="` + ns + `"`)
	} else {
		b.WriteString(` xmlns="` + ns + `"`)
	}
	b.WriteString(` TSLTag="http://uri.etsi.org/19612/TSLTag"`)
	if d.id != "" {
		b.WriteString(` Id="` + d.id + `"`)
	}
	b.WriteString(">\n")
	open("SchemeInformation")
	text("TSLVersionIdentifier", "5")
	text("TSLSequenceNumber", "17")
	text("SchemeTerritory", "IT")
	text("ListIssueDateTime", "2018-12-14T10:00:00Z")
	open("NextUpdate")
	text("dateTime", "2019-06-14T10:00:00Z")
	closeTag("NextUpdate")
	closeTag("SchemeInformation")
	open("TrustServiceProviderList")
	for _, s := range d.services {
		b.WriteString("\n")
		open("TrustServiceProvider")
		open("TSPInformation")
		name("TSPName", s.tsp)
		closeTag("TSPInformation")
		open("TSPServices")
		open("TSPService")
		open("ServiceInformation")
		text("ServiceTypeIdentifier", s.typ)
		name("ServiceName", s.name)
		identity(s.certs, s.rawCert, s.skiOnly)
		text("ServiceStatus", s.status)
		text("StatusStartingTime", "2016-07-01T00:00:00Z")
		closeTag("ServiceInformation")
		if len(s.history) > 0 {
			open("ServiceHistory")
			open("ServiceHistoryInstance")
			text("ServiceTypeIdentifier", s.typ)
			name("ServiceName", s.name)
			identity(s.history, "", false)
			text("ServiceStatus", "http://uri.etsi.org/TrstSvc/Svcstatus/accredited")
			text("StatusStartingTime", "2011-10-05T00:00:00Z")
			closeTag("ServiceHistoryInstance")
			closeTag("ServiceHistory")
		}
		closeTag("TSPService")
		closeTag("TSPServices")
		closeTag("TrustServiceProvider")
	}
	closeTag("TrustServiceProviderList")
	closeTag("TrustServiceStatusList")
	return []byte(b.String())
}

// tslSigner is a throwaway RSA key with a self-signed certificate.
type tslSigner struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func newTSLSigner(t *testing.T, cn string, notBefore, notAfter time.Time) tslSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{Country: []string{"IT"}, Organization: []string{"AgID (test)"}, CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tslSigner{key: key, cert: cert}
}

// sign adds an enveloped XML signature (exclusive c14n, RSA-SHA256) made
// with key, carrying cert in KeyInfo, as the last child of the root.
func signTSL(t *testing.T, doc []byte, key *rsa.PrivateKey, cert *x509.Certificate) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.IdAttribute = "Id"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	d.SetRoot(signed)
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
