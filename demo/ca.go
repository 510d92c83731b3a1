package demo

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// CAHandlers returns the demo CA's CRL distribution point and OCSP
// responder, keyed by path, for the demo process to serve. The CA is
// reloaded from the demo directory, told of the demo cards it issued, and
// the "revoked" card is revoked again (revocations are not kept on disk).
func (s *Setup) CAHandlers() (map[string]http.Handler, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(s.Dir, "pki", name)) }
	certPEM, err := read("ca.crt")
	if err != nil {
		return nil, err
	}
	keyPEM, err := read("ca.key")
	if err != nil {
		return nil, err
	}
	ca, err := cnstest.LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	for _, c := range s.Cards {
		if c.Name == "cie" { // not this CA's: the CIE SUBCA1 has a CRL of its own
			continue
		}
		data, err := os.ReadFile(c.CertFile)
		if err != nil {
			return nil, err
		}
		certs, err := x509cns.ParseCertificates(data)
		if err != nil {
			return nil, fmt.Errorf("demo card %s: %w", c.Name, err)
		}
		ca.AddIssued(certs[0])
		if c.Name == "revoked" {
			ca.Revoke(certs[0].SerialNumber, certs[0].NotBefore.Add(time.Hour), ocsp.KeyCompromise)
		}
	}
	responder, err := ca.OCSPResponder(cnstest.OCSPOptions{})
	if err != nil {
		return nil, err
	}
	cie, err := s.loadCIESubCA()
	if err != nil {
		return nil, err
	}
	cieRoot, err := s.LoadCIERoot()
	if err != nil {
		return nil, err
	}
	return map[string]http.Handler{
		CIECRLPath:     cie.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour}),
		CIERootCRLPath: cieRoot.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour}),
		CRLPath:        ca.CRLServer(cnstest.CRLServerOptions{Validity: time.Hour}),
		OCSPPath:       responder,
		OCSPPath + "/": responder, // GET requests carry the request in the path
	}, nil
}
