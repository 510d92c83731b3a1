package x509cns

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/cnsgate/cnsgate/x509cns/pemfile"
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
	out, err := pemfile.Certificates(trimmed)
	if be := (*pemfile.BlockError)(nil); errors.As(err, &be) {
		return nil, &Rejection{Reason: ReasonMalformed, Detail: fmt.Sprintf("PEM block %d", be.Index), Err: be.Err}
	}
	if err != nil {
		return nil, &Rejection{Reason: ReasonMalformed, Err: err}
	}
	return out, nil
}
