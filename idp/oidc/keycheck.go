package oidc

// CheckSigningKey reads one PEM signing key as the provider would at
// start, for cnsgate check-config: nil when the key would sign, else why
// not (an ErrBadKey).
func CheckSigningKey(pemData []byte) error {
	_, err := parseSigningKeys(pemData)
	return err
}
