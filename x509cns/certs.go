package x509cns

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseCertificates reads one or more certificates from PEM (any number of
// CERTIFICATE blocks; other blocks are ignored) or from a single DER
// certificate. A malformed certificate is a Rejection with ReasonMalformed.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	// Whitespace is trimmed only to recognise PEM: a DER certificate may end
	// in a byte that looks like whitespace, and must be parsed untouched.
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, Reject(ReasonNoCertificate, "empty input")
	}
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, &Rejection{Reason: ReasonMalformed, Detail: "DER certificate", Err: err}
		}
		return []*x509.Certificate{c}, nil
	}
	var out []*x509.Certificate
	rest := trimmed
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, &Rejection{Reason: ReasonMalformed, Detail: fmt.Sprintf("PEM block %d", n), Err: err}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, &Rejection{Reason: ReasonMalformed, Err: errors.New("no CERTIFICATE block in PEM input")}
	}
	return out, nil
}
