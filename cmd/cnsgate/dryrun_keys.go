package main

import (
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/idp/signer"
)

// checkRotationKeys opens every key of oidc.keys as serve would (a
// PKCS#11 key logs in to its token: a wrong PIN is reported here), and
// notes a retired key that stays published for ever or whose
// retire_after has passed.
func (d *dryRun) checkRotationKeys() {
	seen := map[string]string{}
	for i, k := range d.cfg.OIDC.Keys {
		path := fmt.Sprintf("oidc.keys[%d]", i)
		where := path + ".file"
		if k.PKCS11 != nil {
			where = path + ".pkcs11"
		}
		if k.File == "" && k.PKCS11 == nil {
			continue // Validate reported it
		}
		key, err := openChecked(k.File, k.PKCS11)
		if err != nil {
			d.problem(where, "%v", err)
			continue
		}
		if other, dup := seen[key.KeyID()]; dup {
			d.problem(where, "the same key as %s: a key is listed once, in one state", other)
		}
		seen[key.KeyID()] = path
		if k.State != config.KeyRetired {
			continue
		}
		switch t := k.RetireTime(); {
		case t.IsZero():
			d.notes = append(d.notes, fmt.Sprintf("%s (%s) is retired without retire_after: it stays in /jwks until removed; set retire_after to its retirement plus the longest token lifetime", path, k))
		case !d.now.Before(t):
			d.notes = append(d.notes, fmt.Sprintf("%s (%s) is past its retire_after %s: it is no longer published; remove it", path, k, t.Format(time.RFC3339)))
		}
	}
}

// openChecked opens a key and checks it signs a JOSE algorithm.
func openChecked(file string, p *config.PKCS11Key) (signer.Signer, error) {
	s, err := signer.Open(signerSpec(file, p), nil)
	if err != nil {
		return nil, err
	}
	if _, err := signer.Algorithms(s.Public()); err != nil {
		return nil, fmt.Errorf("%w: %v", oidc.ErrBadKey, err)
	}
	return s, nil
}

// checkSAMLKeys checks saml.key_pkcs11 against cert_file and reads
// saml.next_cert_file.
func (d *dryRun) checkSAMLKeys() {
	s := d.cfg.SAML
	if s.KeyPKCS11 != nil && s.CertFile != "" {
		key, err := signer.Open(signerSpec("", s.KeyPKCS11), nil)
		if err != nil {
			d.problem("saml.key_pkcs11", "%v", err)
		} else if certPEM, ok := d.read("saml.cert_file", s.CertFile); ok {
			if err := saml.CheckSignerCert(certPEM, key); err != nil {
				d.problem("saml.key_pkcs11", "%v", err)
			}
		}
	}
	if s.NextCertFile != "" {
		if data, ok := d.read("saml.next_cert_file", s.NextCertFile); ok {
			if err := saml.CheckNextCert(data); err != nil {
				d.problem("saml.next_cert_file", "%v", err)
			}
		}
	}
}
