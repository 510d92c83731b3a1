package oidc

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// tokenTypes are the typ headers cnsgate signs; each signing key has its
// protected header for each, encoded once.
var tokenTypes = []string{typID, typAccess, typLogout, typRefresh}

// preparedKey is a signing key ready for use: the raw private key (a
// jwk.Key would be exported to a new raw key at every signature), the
// algorithm's signer and the encoded protected header of each typ. It is
// built once per key set (at New and at each reload) and read
// concurrently.
type preparedKey struct {
	raw     crypto.Signer
	signer  jws.Signer
	headers map[string]string // typ → base64url of {"alg","kid","typ"}
}

// prepare makes the preparedKey of raw, whose key id is kid, for alg.
func prepare(raw crypto.Signer, kid string, alg jwa.SignatureAlgorithm) (*preparedKey, error) {
	if pc, ok := raw.(interface{ Precompute() }); ok {
		pc.Precompute()
	}
	js, err := jws.NewSigner(alg)
	if err != nil {
		return nil, err
	}
	pk := &preparedKey{raw: raw, signer: js, headers: map[string]string{}}
	for _, typ := range tokenTypes {
		h, err := json.Marshal(struct {
			Alg string `json:"alg"`
			Kid string `json:"kid"`
			Typ string `json:"typ"`
		}{alg.String(), kid, typ})
		if err != nil {
			return nil, err
		}
		pk.headers[typ] = base64.RawURLEncoding.EncodeToString(h)
	}
	return pk, nil
}

// sign returns claims as a compact JWS signed with alg ("" the default
// algorithm) by the current key of that algorithm: the cached header, the
// claims encoded once, one signature. Times (iat, exp, nbf) become
// NumericDates in whole seconds and a single aud an array, as RFC 7519
// and the relying parties' libraries expect; claims is rewritten so.
func (p *Provider) sign(alg, typ string, claims map[string]any) (string, error) {
	pk, ok := p.keys().prepared(alg)
	if !ok {
		// newClients refuses a client whose algorithm no key signs.
		return "", fmt.Errorf("oidc: signing: no key signs %s", alg)
	}
	hdr, ok := pk.headers[typ]
	if !ok {
		return "", fmt.Errorf("oidc: signing: unknown token type %q", typ)
	}
	for _, k := range []string{"iat", "exp", "nbf"} {
		if t, ok := claims[k].(time.Time); ok {
			claims[k] = t.Unix()
		}
	}
	if aud, ok := claims["aud"].(string); ok {
		claims["aud"] = []string{aud}
	}
	payload, err := appendClaims(make([]byte, 0, 1024), claims)
	if err != nil {
		return "", fmt.Errorf("oidc: claims: %w", err)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, len(hdr)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	buf = append(buf, hdr...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := pk.signer.Sign(buf, pk.raw)
	if err != nil {
		return "", fmt.Errorf("oidc: signing: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}
