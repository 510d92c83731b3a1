package config

// SigningKey is a signing key in its rotation state (oidc.keys[]): a PEM
// file or a key in a PKCS#11 token (HSM), exactly one.
type SigningKey struct {
	File   string     `yaml:"file"`
	PKCS11 *PKCS11Key `yaml:"pkcs11"`
	// State is active (default: signs), next (published in /jwks, does not
	// sign yet) or retired (published until RetireAfter, does not sign).
	State KeyState `yaml:"state"`
	// RetireAfter (RFC 3339) is when a retired key leaves /jwks: at least
	// the moment of its retirement plus the longest token lifetime.
	RetireAfter string `yaml:"retire_after"`
}

// PKCS11Key names a private key in a PKCS#11 token: the module (the
// vendor's library, e.g. /usr/lib/softhsm/libsofthsm2.so), the token by
// token_label or slot (exactly one), the file holding the user PIN and
// the key's label (CKA_LABEL).
type PKCS11Key struct {
	Module     string `yaml:"module"`
	TokenLabel string `yaml:"token_label"`
	Slot       *int   `yaml:"slot"`
	PinFile    string `yaml:"pin_file"`
	KeyLabel   string `yaml:"key_label"`
}

// KeyState is a signing key's rotation state.
type KeyState string

// The rotation states of a signing key.
const (
	KeyNext    KeyState = "next"
	KeyActive  KeyState = "active"
	KeyRetired KeyState = "retired"
)

var keyStates = []KeyState{KeyNext, KeyActive, KeyRetired}
