// Package softhsm makes SoftHSM2 tokens for tests: the HSM in which a
// deployment keeps its signing keys, played by softhsm2-util and
// pkcs11-tool (Debian packages softhsm2 and opensc, installed by
// scripts/test-setup.sh).
//
// # Files
//
//	doc.go      this map
//	softhsm.go  Token: the process's token (and a spare), its directory and configuration, keys generated inside it
package softhsm
