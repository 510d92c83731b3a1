package oidc

import (
	"fmt"
	"strings"
)

// The client profiles: plain OpenID Connect, or the rules of the SPID and
// CIE id OpenID Connect profiles (italia/spid-cie-oidc-docs) for the
// relying parties of the Italian public sector.
const (
	ProfileOIDC = "oidc"
	ProfileSPID = "spid"
	ProfileCIE  = "cie"
)

// Profiles are the values of Client.Profile ("" is ProfileOIDC).
var Profiles = []string{ProfileOIDC, ProfileSPID, ProfileCIE}

// The JWE algorithms of encrypted userinfo responses and ID tokens, in the
// order discovery lists them.
var (
	KeyEncryptionAlgs     = []string{"RSA-OAEP-256", "RSA-OAEP"}
	ContentEncryptionAlgs = []string{"A128CBC-HS256", "A256CBC-HS512"}
)

// Defaults of the encryption of a spid or cie client's userinfo.
const (
	defaultKeyEncAlg     = "RSA-OAEP-256"
	defaultContentEncAlg = "A256CBC-HS512"
)

// NamespaceEID is the namespace of the claims the rules define
// (https://attributes.eid.gov.it/fiscal_number…).
const NamespaceEID = "https://attributes.eid.gov.it/"

// minProfileRandom is the shortest state and nonce a spid or cie client
// may send (at least 32 random characters).
const minProfileRandom = 32

// encryption is how a response is encrypted to a client: alg is "" when
// it is not.
type encryption struct{ alg, enc string }

// italian reports whether the client follows the SPID or CIE id rules.
func (c *client) italian() bool { return c.profile == ProfileSPID || c.profile == ProfileCIE }

// profileProblems says why the client's profile settings cannot be served,
// and fills the defaults the profile implies.
func (c *client) profileProblems() []string {
	var out []string
	if c.profile != "" && !contains(Profiles, c.profile) {
		out = append(out, fmt.Sprintf("profile %q is not one of %s", c.profile, strings.Join(Profiles, ", ")))
	}
	if c.italian() {
		c.jwtAccess = true
		if c.uiEnc.alg == "" {
			c.uiEnc = encryption{defaultKeyEncAlg, defaultContentEncAlg}
		}
	}
	for _, e := range []struct {
		name string
		enc  *encryption
	}{{"userinfo_encrypted_response", &c.uiEnc}, {"id_token_encrypted_response", &c.idEnc}} {
		out = append(out, e.enc.problems(e.name)...)
	}
	return out
}

// problems checks a registered encryption, defaulting enc when only alg
// is given (OpenID Connect Dynamic Client Registration 1.0, 2).
func (e *encryption) problems(name string) []string {
	switch {
	case e.alg == "" && e.enc != "":
		return []string{name + "_enc is set without " + name + "_alg"}
	case e.alg == "":
		return nil
	case e.enc == "":
		e.enc = ContentEncryptionAlgs[0]
	}
	var out []string
	if !contains(KeyEncryptionAlgs, e.alg) {
		out = append(out, fmt.Sprintf("%s_alg %q is not supported (%s)", name, e.alg, strings.Join(KeyEncryptionAlgs, ", ")))
	}
	if !contains(ContentEncryptionAlgs, e.enc) {
		out = append(out, fmt.Sprintf("%s_enc %q is not supported (%s)", name, e.enc, strings.Join(ContentEncryptionAlgs, ", ")))
	}
	return out
}
