package x509cns

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"sync"
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
// It is filled once and then only read (a RWMutex makes that safe under a
// concurrent reload). The zero value is an empty pool.
type IntermediatePool struct {
	// Now tells usable certificates from expired ones in the load report;
	// nil means time.Now. Chain building checks validity itself.
	Now func() time.Time

	mu        sync.RWMutex
	certs     []*x509.Certificate
	byDER     map[string]bool
	bySKI     map[string][]*x509.Certificate
	bySubject map[string][]*x509.Certificate
}

// NewIntermediatePool returns an empty pool.
func NewIntermediatePool() *IntermediatePool { return &IntermediatePool{} }

func (p *IntermediatePool) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// LoadPEMDir adds the certificate files of dir as TrustStore.LoadPEMDir
// does, with the report's Kind "intermediate_dir". Only CA certificates
// that may sign certificates are stored (see classifyIntermediate); the
// others are report entries with their reason. The error is only for a
// directory that cannot be read.
func (p *IntermediatePool) LoadPEMDir(dir string) (*LoadReport, error) {
	rep := &LoadReport{Kind: "intermediate_dir", Source: dir, At: p.now()}
	if err := loadCertDir(dir, rep, p.add); err != nil {
		return nil, fmt.Errorf("x509cns: intermediate directory: %w", err)
	}
	return rep, nil
}

// Add classifies cert and stores it unless it is skipped.
func (p *IntermediatePool) Add(cert *x509.Certificate, source string) AddResult {
	return p.add(cert, AddResult{Source: source})
}

func (p *IntermediatePool) add(cert *x509.Certificate, meta AddResult) AddResult {
	if cert == nil {
		meta.Status, meta.Detail = StatusMalformed, joinDetail("nil certificate", meta.Detail)
		return meta
	}
	r := describe(cert, meta)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byDER[string(cert.Raw)] {
		r.Status, r.Detail = StatusDuplicate, joinDetail("same DER already in the pool", meta.Detail)
		return r
	}
	status, detail := classifyIntermediate(cert, p.now())
	r.Status, r.Detail = status, joinDetail(detail, meta.Detail)
	if !r.Status.Stored() {
		return r
	}
	if p.byDER == nil {
		p.byDER = map[string]bool{}
		p.bySKI = map[string][]*x509.Certificate{}
		p.bySubject = map[string][]*x509.Certificate{}
	}
	p.certs = append(p.certs, cert)
	p.byDER[string(cert.Raw)] = true
	if len(cert.SubjectKeyId) > 0 {
		p.bySKI[string(cert.SubjectKeyId)] = append(p.bySKI[string(cert.SubjectKeyId)], cert)
	}
	p.bySubject[string(cert.RawSubject)] = append(p.bySubject[string(cert.RawSubject)], cert)
	return r
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

// Issuers returns the pool certificates that may have issued cert: those
// whose SubjectKeyId equals cert's AuthorityKeyId or, when none does,
// those whose subject equals cert's issuer. The caller checks names and
// signatures.
func (p *IntermediatePool) Issuers(cert *x509.Certificate) []*x509.Certificate {
	if p == nil || cert == nil {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	var found []*x509.Certificate
	if len(cert.AuthorityKeyId) > 0 {
		found = p.bySKI[string(cert.AuthorityKeyId)]
	}
	if len(found) == 0 {
		found = p.bySubject[string(cert.RawIssuer)]
	}
	return append([]*x509.Certificate(nil), found...)
}

// Len returns the number of stored certificates.
func (p *IntermediatePool) Len() int {
	if p == nil {
		return 0
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.certs)
}
