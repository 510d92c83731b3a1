package x509cns

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"
)

// IntermediatePool holds CA certificates that are not trust anchors but
// may complete a chain (config trust.intermediate_dirs): a CIE card is
// often presented without its SUBCA1, as browsers and middleware send
// only the leaf. A pool certificate is used by chain building after the
// presented intermediates and only below an anchor: it never ends a
// chain, so a self-signed certificate placed here is trusted for nothing.
// Issuers are never fetched from AIA at login time; this pool is the only
// place missing ones come from.
//
// It indexes its certificates as a TrustStore does (by DER, SubjectKeyId
// and subject, newest first) but under classifyIntermediate, and offers
// only what chain building needs: its certificates are never handed out
// as anchors. Build it with NewIntermediatePool.
type IntermediatePool struct {
	// Now tells usable certificates from expired ones in the load report;
	// nil means time.Now. Chain building checks validity itself.
	Now func() time.Time

	index TrustStore
}

// NewIntermediatePool returns an empty pool.
func NewIntermediatePool() *IntermediatePool {
	p := &IntermediatePool{}
	p.index.classify = classifyIntermediate
	p.index.Now = func() time.Time {
		if p.Now != nil {
			return p.Now()
		}
		return time.Now()
	}
	return p
}

// LoadPEMDir adds the certificate files of dir as TrustStore.LoadPEMDir
// does, with the report's Kind "intermediate_dir". Only CA certificates
// that may sign certificates are stored (see classifyIntermediate); the
// others are report entries with their reason. The error is only for a
// directory that cannot be read.
func (p *IntermediatePool) LoadPEMDir(dir string) (*LoadReport, error) {
	rep := &LoadReport{Kind: "intermediate_dir", Source: dir, At: p.index.now()}
	if err := loadCertDir(dir, rep, p.index.add); err != nil {
		return nil, fmt.Errorf("x509cns: intermediate directory: %w", err)
	}
	return rep, nil
}

// Add classifies cert and stores it unless it is skipped.
func (p *IntermediatePool) Add(cert *x509.Certificate, source string) AddResult {
	return p.index.Add(cert, source)
}

// classifyIntermediate is classifyAnchor held to what chain building asks
// of an intermediate: basicConstraints CA:TRUE and a KeyUsage with
// keyCertSign (no v1 root, no missing KeyUsage). A self-signed
// certificate is kept, noted: it can only sit below an anchor of its own
// name, never act as one.
func classifyIntermediate(c *x509.Certificate, now time.Time) (CertStatus, string) {
	switch {
	case !c.BasicConstraintsValid:
		return StatusNotCA, "no basicConstraints: not a CA certificate"
	case !c.IsCA:
		return StatusNotCA, "basicConstraints cA is FALSE"
	case c.KeyUsage&x509.KeyUsageCertSign == 0:
		return StatusNoCertSign, "keyUsage lacks keyCertSign"
	}
	status, detail := classifyAnchor(c, now)
	if status.Stored() && bytes.Equal(c.RawSubject, c.RawIssuer) {
		detail = joinDetail(detail, "self-signed: used as an intermediate only, never as a trust anchor")
	}
	return status, detail
}

// Issuers returns the pool certificates that may have issued cert, by
// the rule of TrustStore.Issuers. The caller checks names and signatures.
func (p *IntermediatePool) Issuers(cert *x509.Certificate) []*x509.Certificate {
	if p == nil {
		return nil
	}
	return p.index.Issuers(cert)
}

// Len returns the number of stored certificates.
func (p *IntermediatePool) Len() int {
	if p == nil {
		return 0
	}
	return p.index.Len()
}
