package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// errNoEncryptionKey reports a client whose keys hold no RSA key to
// encrypt to.
var errNoEncryptionKey = errors.New("oidc: the client's jwks has no RSA encryption key")

// encryptTo encrypts a signed token to the client (a nested JWT, RFC 7519
// 5.2: cty JWT): to the first RSA key of its keys (inline, jwks_uri or its
// federation metadata) meant for encryption, or with no use at all.
func (p *Provider) encryptTo(ctx context.Context, c *client, e encryption, signed string) (string, error) {
	set, err := p.clientKeys(ctx, c, false)
	if err != nil {
		return "", fmt.Errorf("oidc: encryption key of %s: %w", c.id, err)
	}
	key := encryptionKey(set)
	if key == nil {
		return "", fmt.Errorf("%w (client %s)", errNoEncryptionKey, c.id)
	}
	hdr := jwe.NewHeaders()
	_ = hdr.Set("cty", "JWT")
	if kid := key.KeyID(); kid != "" {
		_ = hdr.Set(jwk.KeyIDKey, kid)
	}
	out, err := jwe.Encrypt([]byte(signed),
		jwe.WithKey(jwa.KeyEncryptionAlgorithm(e.alg), key),
		jwe.WithContentEncryption(jwa.ContentEncryptionAlgorithm(e.enc)),
		jwe.WithProtectedHeaders(hdr), jwe.WithCompact())
	if err != nil {
		return "", fmt.Errorf("oidc: encrypting to %s: %w", c.id, err)
	}
	return string(out), nil
}

// encryptionKey is the first RSA public key of set with use "enc" or
// without a use, nil when none.
func encryptionKey(set jwk.Set) jwk.Key {
	for i := 0; set != nil && i < set.Len(); i++ {
		k, _ := set.Key(i)
		if k.KeyType() != jwa.RSA || (k.KeyUsage() != "" && k.KeyUsage() != string(jwk.ForEncryption)) {
			continue
		}
		if pub, err := k.PublicKey(); err == nil {
			return pub
		}
	}
	return nil
}

// newUUID returns a random (version 4) UUID, the jti of ID tokens and jwt
// access tokens.
func (p *Provider) newUUID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(p.rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
