package revocation

import (
	"bytes"
	"math/big"
)

// Revoked answers from the CRLs already in memory, without any network
// call or wait, whether the certificate with this serial, issued by the CA
// whose SubjectKeyId is issuerKeyID, is listed as revoked. It is for the
// reuse of a session opened with a card that was good at login; a login
// itself uses Check.
//
// When issuerKeyID is empty (a session stored before the key id was kept)
// the issuer is matched by common name: every cached CA of that name is
// asked. known reports that at least one matching issuer has a CRL cached
// (stale or not: a stale CRL still answers "revoked" for what it lists).
func (c *Checker) Revoked(issuerKeyID []byte, issuerName string, serial *big.Int) (revoked, known bool) {
	if c == nil || serial == nil {
		return false, false
	}
	for _, st := range c.allStates() {
		if len(issuerKeyID) > 0 {
			if !bytes.Equal(st.issuer.SubjectKeyId, issuerKeyID) {
				continue
			}
		} else if st.label != issuerName {
			continue
		}
		cur := st.crl.Load()
		if cur == nil {
			continue
		}
		known = true
		if _, ok := cur.table.lookup(serial); ok {
			return true, true
		}
	}
	return false, known
}
