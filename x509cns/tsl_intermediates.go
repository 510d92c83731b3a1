package x509cns

import (
	"bytes"
	"crypto/x509"
)

// routeIntermediates adds to pool the certificates of todo that a
// self-issued certificate of todo names as issuer, records them in
// rep.Intermediates, and returns the others, still to be anchors. Only
// self-issued certificates count as roots here, so that no pair of
// cross-certified CAs can push each other out of the anchors.
func routeIntermediates(todo []pendingCert, pool *IntermediatePool, rep *LoadReport) []pendingCert {
	parsed := make([]*x509.Certificate, len(todo))
	roots := make(map[string]bool)
	for i, p := range todo {
		if p.err != nil {
			continue
		}
		c, _, err := parseAnchorDER(p.der)
		if err != nil {
			continue
		}
		parsed[i] = c
		if bytes.Equal(c.RawSubject, c.RawIssuer) {
			roots[string(c.RawSubject)] = true
		}
	}
	var anchors []pendingCert
	for i, p := range todo {
		c := parsed[i]
		if c == nil || bytes.Equal(c.RawSubject, c.RawIssuer) || !roots[string(c.RawIssuer)] {
			anchors = append(anchors, p)
			continue
		}
		meta := p.meta
		meta.Detail = joinDetail(meta.Detail, "issued by "+c.Issuer.CommonName+", a root of the same list: an intermediate, not an anchor")
		rep.Intermediates = append(rep.Intermediates, pool.index.add(c, meta))
	}
	return anchors
}
