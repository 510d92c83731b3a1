package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/registry/sqlstore"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// dryRun loads what serve loads from the files a configuration names —
// the TLS pair, the trust store, the CRL files, the OIDC signing keys, the
// SAML key pair and metadata, the allowlist — without opening a listener,
// the registry or the session store, and collects every problem, each on
// the line of the option that names the file. The configuration may be
// one that failed validation: what can be checked still is.
type dryRun struct {
	cfg   *config.Config
	lines config.Lines
	now   time.Time
	errs  []config.FieldError
	trust *trustSet // loaded when every trust source loads
	tsl   *tslsync.List
	notes []string // what check-config says beside the problems
}

func (d *dryRun) run() {
	d.checkTLS()
	d.checkTrust()
	d.checkCRLFiles()
	d.checkSigningKeys()
	d.checkRotationKeys()
	d.checkFederation()
	d.checkSAML()
	d.checkSAMLKeys()
	d.checkAllowlist()
}

// problem files a problem about the option at path ("tls.cert_file",
// "oidc.signing_keys[1]"), placed on the line of that option or item.
func (d *dryRun) problem(path, format string, args ...any) {
	section, key := splitPath(path)
	d.errs = append(d.errs, config.FieldError{Path: section, Line: d.lines.Of(path),
		Msg: fmt.Sprintf("option '%s': ", key) + fmt.Sprintf(format, args...)})
}

// splitPath divides "saml.service_providers[0].metadata_file" into its
// section and its last key.
func splitPath(path string) (section, key string) {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[:i], path[i+1:]
		}
	}
	return "", path
}

// read reads the file an option names, filing a problem when it cannot.
func (d *dryRun) read(path, file string) ([]byte, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		d.problem(path, "cannot read '%s': %s", file, readReason(err))
		return nil, false
	}
	return data, true
}

// readReason says why a file could not be read, without repeating its name.
func readReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (d *dryRun) checkTLS() {
	t := d.cfg.TLS
	if t.CertFile == "" || t.KeyFile == "" {
		return // reported by validation
	}
	certPEM, okCert := d.read("tls.cert_file", t.CertFile)
	keyPEM, okKey := d.read("tls.key_file", t.KeyFile)
	if !okCert || !okKey {
		return
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		d.problem("tls.cert_file", "'%s' and key_file '%s' are not a TLS certificate and its key: %v", t.CertFile, t.KeyFile, err)
		return
	}
	if leaf := pair.Leaf; leaf != nil && d.now.After(leaf.NotAfter) {
		d.problem("tls.cert_file", "the certificate in '%s' expired on %s", t.CertFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
}

// checkTrust loads each trust source on its own, so that every bad one is
// named, then the whole trust section as serve does.
func (d *dryRun) checkTrust() {
	t := d.cfg.Trust
	ok := true
	for i, dir := range t.CADirs {
		if dir == "" {
			continue
		}
		if _, err := x509cns.NewTrustStore().LoadPEMDir(dir); err != nil {
			d.problem(fmt.Sprintf("trust.ca_dirs[%d]", i), "%v", err)
			ok = false
		}
	}
	ok = d.checkTSL() && ok
	for i, dir := range t.IntermediateDirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			ok = false
			continue // reported by validation
		}
		if _, err := loadIntermediates(x509cns.NewIntermediatePool(), []string{dir}); err != nil {
			d.problem(fmt.Sprintf("trust.intermediate_dirs[%d]", i), "%v", err)
			ok = false
		}
	}
	if !ok || (len(t.CADirs) == 0 && t.TSLFile == "" && t.TSLURL == "") {
		return
	}
	d.tsl = d.fetchTSL()
	ts, err := loadTrustWith(t, d.tsl)
	if err == nil {
		err = ts.requireUsable()
	}
	if err != nil {
		d.errs = append(d.errs, config.FieldError{Path: "trust", Line: d.lines.Of("trust"), Msg: err.Error()})
		return
	}
	d.trust = ts
}

// fetchTSL is the list of trust.tsl_url as serve would start with it: the
// cache file's when it verifies, else one fetch now, verified and not
// persisted (check-config writes nothing). A list that cannot be had is a
// note, not a problem: serve starts on the other anchors and retries.
func (d *dryRun) fetchTSL() *tslsync.List {
	t := d.cfg.Trust
	if t.TSLURL == "" {
		return nil
	}
	if l := cachedTSL(t); l != nil {
		return l
	}
	t.TSLCacheFile = ""
	s, err := newTSLSyncer(t, tslsync.Options{})
	if err == nil {
		err = s.Fetch(context.Background())
	}
	if err != nil {
		d.notes = append(d.notes, fmt.Sprintf("trust: tsl_url: no list in the cache and none fetched: %v", err))
		return nil
	}
	return s.Current()
}

func (d *dryRun) checkTSL() bool {
	t := d.cfg.Trust
	if t.TSLFile == "" {
		return true
	}
	data, ok := d.read("trust.tsl_file", t.TSLFile)
	var opts x509cns.TSLOptions
	if t.TSLSignerFile != "" {
		raw, okSigner := d.read("trust.tsl_signer_file", t.TSLSignerFile)
		if !okSigner {
			return false
		}
		certs, err := x509cns.ParseCertificates(raw)
		if err != nil {
			d.problem("trust.tsl_signer_file", "'%s': %v", t.TSLSignerFile, err)
			return false
		}
		opts.Signer = certs[0]
	}
	if !ok {
		return false
	}
	if _, err := x509cns.NewTrustStore().LoadTSL(data, opts); err != nil {
		d.problem("trust.tsl_file", "'%s': %v", t.TSLFile, err)
		return false
	}
	return true
}

// checkCRLFiles reads revocation.crl_files: serve starts without one it
// cannot load, but then knows nothing of that issuer's revoked cards.
func (d *dryRun) checkCRLFiles() {
	if d.cfg.Revocation.Mode == config.RevocationNone {
		return
	}
	for i, f := range d.cfg.Revocation.CRLFiles {
		if f == "" {
			continue
		}
		path := fmt.Sprintf("revocation.crl_files[%d]", i)
		data, ok := d.read(path, f)
		if !ok {
			continue
		}
		if der, err := crlDER(data); err != nil {
			d.problem(path, "'%s': %v", f, err)
		} else if _, err := x509.ParseRevocationList(der); err != nil {
			d.problem(path, "'%s' is not a CRL: %v", f, err)
		}
	}
}

// crlDER returns the DER of a CRL file, PEM ("X509 CRL") or DER.
func crlDER(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		return data, nil
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "X509 CRL" {
		return nil, errors.New("no PEM block of type X509 CRL")
	}
	return block.Bytes, nil
}

func (d *dryRun) checkSigningKeys() {
	for i, f := range d.cfg.OIDC.SigningKeys {
		if f == "" {
			continue
		}
		path := fmt.Sprintf("oidc.signing_keys[%d]", i)
		if data, ok := d.read(path, f); ok {
			if err := oidc.CheckSigningKey(data); err != nil {
				d.problem(path, "'%s': %v", f, err)
			}
		}
	}
}

func (d *dryRun) checkSAML() {
	s := d.cfg.SAML
	if s.CertFile != "" && s.KeyFile != "" {
		certPEM, okCert := d.read("saml.cert_file", s.CertFile)
		keyPEM, okKey := d.read("saml.key_file", s.KeyFile)
		if okCert && okKey {
			if err := saml.CheckKeyPair(certPEM, keyPEM); err != nil {
				d.problem("saml.cert_file", "%v", err)
			}
		}
	}
	for i, sp := range s.ServiceProviders {
		path := fmt.Sprintf("saml.service_providers[%d]", i)
		var signer []byte
		if sp.MetadataSignerFile != "" {
			var ok bool
			if signer, ok = d.read(path+".metadata_signer_file", sp.MetadataSignerFile); !ok {
				continue
			}
		}
		if sp.MetadataFile == "" {
			continue // metadata_url: fetched by serve, in the background
		}
		if data, ok := d.read(path+".metadata_file", sp.MetadataFile); ok {
			if err := saml.CheckMetadata(data, sp.EntityID, signer, d.now); err != nil {
				d.problem(path+".metadata_file", "'%s': %v", sp.MetadataFile, err)
			}
		}
	}
}

// checkAllowlist reads registration.allowlist_file as serve does: every
// bad row is a problem, with its line in that file.
func (d *dryRun) checkAllowlist() {
	f := d.cfg.Registration.AllowlistFile
	if f == "" {
		return
	}
	const path = "registration.allowlist_file"
	data, ok := d.read(path, f)
	if !ok {
		return
	}
	_, bad, err := sqlstore.ReadEligibleCSV(bytes.NewReader(data))
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) { // a header alone: nobody yet, as serve accepts
		d.problem(path, "'%s': %v", f, err)
		return
	}
	if bad != nil {
		for _, l := range bad.Lines {
			d.problem(path, "'%s' line %d: %v", f, l.Line, l.Err)
		}
	}
}
