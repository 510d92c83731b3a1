// Package signer is the signing key of cnsgate's OpenID Provider and SAML
// identity provider, wherever it lives: a PEM file (Local) or a PKCS#11
// token such as an HSM (PKCS11, in builds with cgo). Both are a Signer: a
// crypto.Signer that also names its key id (the RFC 7638 thumbprint of its
// public key), the algorithms it signs and where it comes from.
//
// A local key is the parsed private key itself (Raw), so that the
// protocols sign with it as fast as before; a PKCS#11 key signs inside
// the token, which is opened once per module, token and PIN and kept
// open. The PIN is read from a file and never logged.
//
// Keys carry a State for rotation: next (published, never signs), active
// (signs), retired (published until RetireAfter, so that what it signed
// still verifies, then dropped). The protocols decide what each state
// means for them; docs/operations.md ("Signing keys and rotation")
// describes the procedure.
//
// # Files
//
//	doc.go           this map
//	signer.go        Signer, Spec, PKCS11Spec, State, Open, the key checks (RSA ≥ 2048 bits, EC P-256)
//	local.go         Local: a PEM private key file
//	pkcs11.go        the PKCS#11 implementation over crypto11 (cgo builds): contexts kept per token, the PIN file
//	pkcs11_nocgo.go  builds without cgo: a PKCS#11 key is refused, naming make build-hsm
package signer
