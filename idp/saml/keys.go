package saml

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
)

// keyPair is the identity provider's signing key and certificate: every
// Response, assertion, LogoutRequest and LogoutResponse it sends and its
// metadata are signed with it.
type keyPair struct {
	signer crypto.Signer
	cert   *x509.Certificate
	chain  []*x509.Certificate // intermediates after cert in cert_file
	method string              // XML-DSig signature method
	next   *x509.Certificate   // published in the metadata beside cert, never signs
}

// minRSABits is the smallest RSA key accepted, ours or an SP's.
const minRSABits = 2048

// loadSigningKeys reads the signing certificate and its key (a file, or
// o.Signer) and the next certificate of o.
func loadSigningKeys(o Options) (*keyPair, error) {
	var kp *keyPair
	var err error
	if o.Signer != nil {
		kp, err = signerKeyPair(o.ReadFile, o.CertFile, o.Signer)
	} else {
		kp, err = loadKeyPair(o.ReadFile, o.CertFile, o.KeyFile)
	}
	if err != nil || o.NextCertFile == "" {
		return kp, err
	}
	if kp.next, err = readNextCert(o.ReadFile, o.NextCertFile, kp.cert); err != nil {
		return nil, err
	}
	return kp, nil
}

// readNextCert reads the next certificate of file, which must not be the
// active one.
func readNextCert(readFile func(string) ([]byte, error), file string, active *x509.Certificate) (*x509.Certificate, error) {
	data, err := readFile(file)
	if err != nil {
		return nil, fmt.Errorf("saml: next_cert_file: %w", err)
	}
	next, err := parseNextCert(data)
	if err != nil {
		return nil, err
	}
	if next.Equal(active) {
		return nil, errors.New("saml: next_cert_file is cert_file's certificate: the next certificate must be a new one")
	}
	return next, nil
}

// ReloadNextCert publishes the certificate of file ("": none) as the next
// signing certificate, as on SIGHUP, and regenerates the metadata at its
// next request. On an error the published one stays. The active
// certificate and key are read at start only.
func (p *IdP) ReloadNextCert(file string) error {
	var next *x509.Certificate
	if file != "" {
		var err error
		if next, err = readNextCert(p.readFile, file, p.keys.cert); err != nil {
			return err
		}
	}
	p.next.Store(next)
	p.meta.mu.Lock()
	p.meta.doc = nil
	p.meta.mu.Unlock()
	return nil
}

// parseNextCert reads the next signing certificate: RSA of at least
// minRSABits, as the active one.
func parseNextCert(data []byte) (*x509.Certificate, error) {
	certs, err := pemfile.Certificates(data)
	if err != nil {
		return nil, fmt.Errorf("saml: next_cert_file: %w", err)
	}
	pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minRSABits {
		return nil, fmt.Errorf("saml: next_cert_file: an RSA key of at least %d bits is required", minRSABits)
	}
	return certs[0], nil
}

// signerKeyPair pairs the certificate of certFile with a signer (an HSM
// key).
func signerKeyPair(readFile func(string) ([]byte, error), certFile string, signer crypto.Signer) (*keyPair, error) {
	if certFile == "" {
		return nil, errors.New("saml: cert_file is required")
	}
	certPEM, err := readFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("saml: cert_file: %w", err)
	}
	certs, err := pemfile.Certificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("saml: cert_file: %w", err)
	}
	return newKeyPair(certs, signer)
}

func loadKeyPair(readFile func(string) ([]byte, error), certFile, keyFile string) (*keyPair, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("saml: cert_file and key_file are required")
	}
	certPEM, err := readFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("saml: cert_file: %w", err)
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("saml: key_file: %w", err)
	}
	return parseKeyPair(certPEM, keyPEM)
}

func parseKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	certs, err := pemfile.Certificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("saml: cert_file: %w", err)
	}
	signer, err := pemfile.PrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("saml: key_file: %w", err)
	}
	return newKeyPair(certs, signer)
}

// newKeyPair checks signer (RSA, at least minRSABits) against the first
// certificate of certs.
func newKeyPair(certs []*x509.Certificate, signer crypto.Signer) (*keyPair, error) {
	kp := &keyPair{signer: signer, cert: certs[0], chain: certs[1:]}
	switch pub := signer.Public().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("saml: key_file: RSA key of %d bits, at least %d required", pub.N.BitLen(), minRSABits)
		}
		kp.method = dsig.RSASHA256SignatureMethod
	default:
		// RSA only: SAML service providers in the Italian public
		// administration expect it, and ECDSA signatures have two encodings
		// in the wild.
		return nil, fmt.Errorf("saml: key_file: unsupported key type %T (RSA required)", pub)
	}
	if pub, ok := kp.cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return nil, errors.New("saml: cert_file and its key (key_file or key_pkcs11) do not match")
	}
	return kp, nil
}

// signingContext returns a fresh XML-DSig context: exclusive c14n with an
// empty prefix list, SHA-256, our certificate in KeyInfo.
func (k *keyPair) signingContext() (*dsig.SigningContext, error) {
	chain := [][]byte{k.cert.Raw}
	ctx, err := dsig.NewSigningContext(k.signer, chain)
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(k.method); err != nil {
		return nil, err
	}
	return ctx, nil
}

// sign adds an enveloped signature to el (which must carry an ID), placed
// after its Issuer child as the SAML schemas require (first child when
// there is none). The enveloped-signature transform makes the position
// irrelevant to the digest.
func (k *keyPair) sign(el *etree.Element) error {
	ctx, err := k.signingContext()
	if err != nil {
		return err
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return err
	}
	sig := signed.ChildElements()[len(signed.ChildElements())-1]
	pos := 0
	for i, c := range el.Child {
		if ce, ok := c.(*etree.Element); ok && ce.Tag == "Issuer" {
			pos = i + 1
			break
		}
	}
	el.InsertChildAt(pos, sig)
	return nil
}

// signString signs a Redirect-binding query string with our key; alg is
// the SigAlg value (k.method).
func (k *keyPair) signString(s string) ([]byte, error) {
	ctx, err := k.signingContext()
	if err != nil {
		return nil, err
	}
	return ctx.SignString(s)
}
