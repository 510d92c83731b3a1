package cnstest

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"time"
)

// CAOption configures NewRegionalCA, NewCIERoot, NewSubCA and Rekey.
type CAOption func(*caConfig)

type caConfig struct {
	subject             *pkix.Name
	provider            string
	administration      string
	notBefore, notAfter time.Time
	bits                int
	key                 crypto.Signer
	sha1                bool
	crl, ocsp           []string
	now                 func() time.Time
	rand                io.Reader
	policies            []Policy
	policiesSet         bool
	rawSubject          []byte // Rekey: the old subject, byte for byte
	edit                func(*x509.Certificate)
}

// WithSubject replaces the whole subject of the CA certificate. Put the
// attributes in ExtraNames to control their order and repetition.
func WithSubject(name pkix.Name) CAOption { return func(c *caConfig) { c.subject = &name } }

// WithProvider sets the O of a regional CA subject (default DefaultProvider).
func WithProvider(org string) CAOption { return func(c *caConfig) { c.provider = org } }

// WithAdministration replaces "Regione <region>" as the administration
// named in a regional CA's CN and in its cards' OU, e.g.
// "Provincia Autonoma di Trento".
func WithAdministration(name string) CAOption {
	return func(c *caConfig) { c.administration = name }
}

// WithValidity sets the CA certificate's validity window (default: from a
// year before Now, for ten years).
func WithValidity(notBefore, notAfter time.Time) CAOption {
	return func(c *caConfig) { c.notBefore, c.notAfter = notBefore, notAfter }
}

// WithKeyBits sets the size of the CA's fresh RSA key (default 2048).
func WithKeyBits(bits int) CAOption { return func(c *caConfig) { c.bits = bits } }

// WithKey makes the CA use key instead of a fresh one (e.g. the same key
// under another name, or a key kept across runs of the demo).
func WithKey(key crypto.Signer) CAOption { return func(c *caConfig) { c.key = key } }

// WithSHA1 signs the CA certificate with SHA-1 and makes SHA-1 the CA's
// SignatureAlgorithm for everything it signs afterwards, as old CAs did.
func WithSHA1() CAOption { return func(c *caConfig) { c.sha1 = true } }

// WithCRLDistributionPoints sets the CRL URLs (http:// or ldap://) the CA
// embeds in the certificates it issues.
func WithCRLDistributionPoints(urls ...string) CAOption {
	return func(c *caConfig) { c.crl = urls }
}

// WithOCSPServer sets the OCSP URLs the CA embeds in the AIA of the
// certificates it issues.
func WithOCSPServer(urls ...string) CAOption { return func(c *caConfig) { c.ocsp = urls } }

// WithNow sets the CA's clock (default time.Now); a sub-CA inherits it.
func WithNow(now func() time.Time) CAOption { return func(c *caConfig) { c.now = now } }

// WithRand sets the CA's randomness for serials and signatures (default
// crypto/rand.Reader); a sub-CA inherits it. RSA key generation always
// uses the system source.
func WithRand(r io.Reader) CAOption { return func(c *caConfig) { c.rand = r } }

// WithCAPolicies sets the certificate policies of the CA certificate itself;
// with no argument the extension is left out.
func WithCAPolicies(policies ...Policy) CAOption {
	return func(c *caConfig) { c.policies, c.policiesSet = policies, true }
}

// WithCATemplate lets edit change the CA certificate's template just before
// it is signed: a sub-CA that is no CA, lacks keyCertSign, carries an
// ExtKeyUsage, name constraints or another path length, for the validator's
// tests of intermediates.
func WithCATemplate(edit func(tpl *x509.Certificate)) CAOption {
	return func(c *caConfig) { c.edit = edit }
}

func buildConfig(opts []CAOption) caConfig {
	var cfg caConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}
