package oidctest

import (
	"context"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwe"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// RequestObject signs claims as a request object (RFC 9101) with key and
// alg; the key's kid goes in the header.
func RequestObject(claims map[string]any, key jwk.Key, alg jwa.SignatureAlgorithm) (string, error) {
	tok := jwt.New()
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", fmt.Errorf("request object claim %s: %w", k, err)
		}
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	return string(signed), err
}

// Nested is what OpenNested found: the JWE's protected header and the
// claims of the verified inner JWT.
type Nested struct {
	Header jwe.Headers
	Claims map[string]any
}

// OpenNested decrypts a nested JWT (RFC 7519 5.2) with the relying
// party's RSA-OAEP-256 key enc, checks that its cty is JWT and that it
// names enc's kid, and verifies the inner JWT against the provider's keys
// (its /jwks), issuer and the clock now, as the relying party does.
func OpenNested(ctx context.Context, raw string, enc jwk.Key, provider jwk.Set, issuer string, now func() time.Time) (Nested, error) {
	msg, err := jwe.Parse([]byte(raw))
	if err != nil {
		return Nested{}, fmt.Errorf("not a JWE: %w", err)
	}
	hdr := msg.ProtectedHeaders()
	if hdr.ContentType() != "JWT" || hdr.Algorithm() != jwa.RSA_OAEP_256 || hdr.KeyID() != enc.KeyID() {
		return Nested{}, fmt.Errorf("JWE header: cty %q alg %s kid %q (want JWT, RSA-OAEP-256, %q)", hdr.ContentType(), hdr.Algorithm(), hdr.KeyID(), enc.KeyID())
	}
	inner, err := jwe.Decrypt([]byte(raw), jwe.WithKey(jwa.RSA_OAEP_256, enc))
	if err != nil {
		return Nested{}, fmt.Errorf("the relying party cannot decrypt: %w", err)
	}
	tok, err := jwt.Parse(inner, jwt.WithKeySet(provider), jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(now)), jwt.WithIssuer(issuer))
	if err != nil {
		return Nested{}, fmt.Errorf("inner JWS does not verify: %w", err)
	}
	claims, err := tok.AsMap(ctx)
	return Nested{Header: hdr, Claims: claims}, err
}
