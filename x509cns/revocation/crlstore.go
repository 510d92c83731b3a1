package revocation

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The CRL cache directory (Options.CRLCacheDir) keeps the last CRL fetched
// from a URL for each issuer, so that a restart while a CA's CRL server is
// down still has a CRL to answer from. One file per issuer, named from
// the issuer's subject and key (CacheFileName), holding the DER as
// fetched, written to a temporary file and renamed over the old one.
// Start reads the directory after the CRL files and before any fetch; a
// file is used only when a CA of the trust store, whose name it carries,
// verifies its signature, and only until its nextUpdate plus CRLGrace.
// Anything else in it is ignored with a log line.

const cacheSuffix = ".crl"

// CacheFileName is the name of issuer's file in the cache directory: the
// first 16 bytes of the SHA-256 of its subject and key identifier, in hex,
// and ".crl".
func CacheFileName(issuer *x509.Certificate) string {
	sum := sha256.Sum256([]byte(issuerKey(issuer)))
	return hex.EncodeToString(sum[:16]) + cacheSuffix
}

// persist saves der, the CRL just installed for st, in the cache
// directory. A failure is logged: the CRL is in use either way.
func (c *Checker) persist(st *issuerState, der []byte) {
	dir := c.opts.CRLCacheDir
	if dir == "" {
		return
	}
	name := CacheFileName(st.issuer)
	if err := writeAtomic(dir, name, der); err != nil {
		c.opts.Logger.Warn("revocation: CRL not saved in the cache directory", "issuer", st.label, "dir", dir, "error", err)
		return
	}
	c.opts.Logger.Debug("revocation: CRL saved in the cache directory", "issuer", st.label, "file", filepath.Join(dir, name))
}

// writeAtomic writes data to dir/name through a temporary file in dir,
// synced, then renamed, so that a reader sees the old file or the new one.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// loadCache installs the usable CRLs of the cache directory, creating the
// directory when missing, and removes temporary files an interrupted write
// left behind.
func (c *Checker) loadCache() {
	dir := c.opts.CRLCacheDir
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.opts.Logger.Warn("revocation: CRL cache directory unusable", "dir", dir, "error", err)
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.opts.Logger.Warn("revocation: CRL cache directory unreadable", "dir", dir, "error", err)
		return
	}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") && e.Type().IsRegular():
			_ = os.Remove(path)
		case !strings.HasSuffix(name, cacheSuffix) || !e.Type().IsRegular():
			c.opts.Logger.Info("revocation: not a cached CRL, ignored", "file", path)
		default:
			if err := c.loadCached(path, name); err != nil {
				c.opts.Logger.Warn("revocation: cached CRL ignored", "file", path, "error", err)
			}
		}
	}
}

// loadCached installs one cached CRL when a trusted CA whose file name it
// has verifies it and it is still usable.
func (c *Checker) loadCached(path, name string) error {
	p, _, err := c.readCRLFile(path)
	if err != nil {
		return err
	}
	now := c.opts.Now()
	switch {
	case p.nextUpdate.IsZero():
		return fmt.Errorf("%w: no nextUpdate, so no telling how long it is valid", ErrStale)
	case now.After(p.nextUpdate.Add(c.opts.CRLGrace)):
		return fmt.Errorf("%w: nextUpdate %s, grace %v", ErrStale, p.nextUpdate.Format(time.RFC3339), c.opts.CRLGrace)
	case c.opts.Issuers == nil:
		return errors.New("no trust store to check its signature against")
	}
	for _, issuer := range c.opts.Issuers.IssuersByName(p.rawIssuer, p.authKeyID) {
		if CacheFileName(issuer) != name {
			continue
		}
		_, err := c.install(c.state(issuer), p, &crlSource{path: path}, validators{})
		switch {
		case errors.Is(err, ErrBadSignature):
			continue
		case errors.Is(err, ErrRollback): // a configured file is newer
			return nil
		}
		return err
	}
	return fmt.Errorf("%w: no trusted CA named %q, whose file this would be, verifies it", ErrBadSignature, p.issuerCN)
}
