//go:build !cgo

package signer

import "fmt"

// PKCS11Available reports whether this build can open PKCS#11 keys.
const PKCS11Available = false

func openPKCS11(s PKCS11Spec, _ func(string) ([]byte, error)) (Signer, error) {
	return nil, fmt.Errorf("%s: %w", s.describe(), ErrNoPKCS11)
}
