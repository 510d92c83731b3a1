package oidc

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cnsgate/cnsgate/idp/signer"
)

// ErrReloadAlgs refuses a key reload that would change the algorithms the
// keys sign: discovery and the clients were checked against them.
var ErrReloadAlgs = errors.New("oidc: a reload may not change the algorithms the signing keys sign; restart cnsgate")

// keys returns the key set in use.
func (p *Provider) keys() *keySet { return p.ks.Load() }

// loadKeys builds the key set of the PEM files (active, first) and the
// keys opened by idp/signer, at now.
func loadKeys(readFile func(string) ([]byte, error), files []string, keys []signer.Key, now time.Time) (*keySet, error) {
	pems := make([][]byte, 0, len(files))
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			return nil, fmt.Errorf("oidc: signing key: %w", err)
		}
		pems = append(pems, data)
	}
	entries, err := pemEntries(pems)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	for _, k := range keys {
		e, err := signerEntry(k)
		if err != nil {
			return nil, fmt.Errorf("oidc: %w", err)
		}
		entries = append(entries, e)
	}
	ks, err := newKeySet(entries, now)
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	return ks, nil
}

// ReloadKeys replaces the signing keys, as on SIGHUP: files and keys as
// Options.SigningKeys and Options.Keys. The new set must sign the same
// algorithms (ErrReloadAlgs); on any error the keys in use stay. Tokens
// signed before verify as long as their key is still published.
func (p *Provider) ReloadKeys(files []string, keys []signer.Key) error {
	ks, err := loadKeys(p.readFile, files, keys, p.now())
	if err != nil {
		return err
	}
	if old := p.keys(); !slices.Equal(old.algs, ks.algs) {
		return fmt.Errorf("%w (%v, was %v)", ErrReloadAlgs, ks.algs, old.algs)
	}
	p.ks.Store(ks)
	p.logger.Info("oidc: signing keys reloaded", "keys", ks.summary())
	return nil
}

// KeyIDs returns the key ids published in /jwks now and the key id that
// signs each algorithm, for logs and tests.
func (p *Provider) KeyIDs() (published []string, signing map[string]string) {
	ks := p.keys()
	set, _ := ks.publishedAt(p.now())
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		published = append(published, k.KeyID())
	}
	signing = map[string]string{}
	for alg, k := range ks.signers {
		signing[alg.String()] = k.KeyID()
	}
	return published, signing
}
