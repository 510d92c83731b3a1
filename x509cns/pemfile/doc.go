// Package pemfile reads and writes the PEM files cnsgate keeps on disk:
// certificates (the SAML signing certificate and its chain, metadata
// signers, CA certificates) and private keys (token signing keys, the SAML
// key, the demo's keys).
//
// It owns the PEM block handling that every such file shares; what a key
// may be used for (its type, size or curve) is decided by the package that
// uses it. It imports only the standard library, so that every package of
// cnsgate, x509cns included, may use it.
//
// # Files
//
//	doc.go       this map
//	pemfile.go   Certificates, PrivateKey (PKCS#8, PKCS#1, SEC 1), BlockError
//	generate.go  GenerateKey, EncodePrivateKey: new private keys as PKCS#8 PEM
package pemfile
