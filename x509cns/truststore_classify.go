package x509cns

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
)

// CertStatus is the classification of a candidate trust anchor. The first
// three are stored in the TrustStore; the others are skipped.
type CertStatus string

// The statuses of a candidate anchor.
const (
	StatusUsable         CertStatus = "usable"          // stored: a CA within its validity window when added
	StatusExpired        CertStatus = "expired"         // stored: past notAfter when added
	StatusNotYetValid    CertStatus = "not_yet_valid"   // stored: before notBefore when added
	StatusNotCA          CertStatus = "not_ca"          // skipped: not a CA certificate
	StatusNoCertSign     CertStatus = "no_cert_sign"    // skipped: KeyUsage present without keyCertSign
	StatusUnsupportedKey CertStatus = "unsupported_key" // skipped: neither RSA >= 1024 bits nor ECDSA
	StatusDuplicate      CertStatus = "duplicate"       // skipped: the same DER is already stored
	StatusMalformed      CertStatus = "malformed"       // skipped: does not parse as X.509
)

// CertStatuses lists every CertStatus in report order.
func CertStatuses() []CertStatus {
	return []CertStatus{
		StatusUsable, StatusExpired, StatusNotYetValid, StatusNotCA,
		StatusNoCertSign, StatusUnsupportedKey, StatusDuplicate, StatusMalformed,
	}
}

// Stored reports whether a certificate with this status is kept in the store.
func (s CertStatus) Stored() bool {
	return s == StatusUsable || s == StatusExpired || s == StatusNotYetValid
}

// AddResult is the classification of one candidate anchor: what Add
// returns and what a LoadReport lists, one per certificate.
type AddResult struct {
	Source        string     `json:"source"`                   // file (path, or path#N for the N-th PEM block) or TSL service
	Subject       string     `json:"subject_cn"`               // subject CN, or the whole subject when it has none
	SKI           string     `json:"ski,omitempty"`            // SubjectKeyId, hex
	NotBefore     time.Time  `json:"not_before"`               //
	NotAfter      time.Time  `json:"not_after"`                //
	Status        CertStatus `json:"status"`                   //
	Detail        string     `json:"reason,omitempty"`         // why not usable, and parse notes
	LooksCNS      bool       `json:"looks_cns"`                // looks like a CNS/CIE authentication CA
	CNSHint       string     `json:"cns_hint,omitempty"`       // what made it look so
	Repaired      bool       `json:"repaired,omitempty"`       // parsed only after fixing a non-DER encoding
	ServiceType   string     `json:"service_type,omitempty"`   // TSL: ServiceTypeIdentifier
	ServiceStatus string     `json:"service_status,omitempty"` // TSL: ServiceStatus
}

// classifyAnchor decides whether c may be stored as a trust anchor and
// whether it is usable at now. The rule:
//
//   - it must be a CA: BasicConstraints present with cA=TRUE, or a version 1
//     self-issued certificate (v1 roots predate extensions);
//   - when KeyUsage is present it must include keyCertSign;
//   - its key must be RSA of at least 1024 bits (old CNS CAs and cards) or
//     ECDSA; anything else cannot have signed a card;
//   - a stored anchor is usable when now lies within [NotBefore, NotAfter],
//     otherwise it is stored as expired or not yet valid.
//
// The anchor's own signature is not checked: trust in an anchor comes from
// the operator's directory or the signed TSL, and Go refuses SHA-1
// self-signatures, which most 2018 roots carry.
func classifyAnchor(c *x509.Certificate, now time.Time) (CertStatus, string) {
	switch {
	case c.BasicConstraintsValid && c.IsCA:
	case c.BasicConstraintsValid:
		return StatusNotCA, "basicConstraints cA is FALSE"
	case c.Version == 1 && bytes.Equal(c.RawSubject, c.RawIssuer):
	default:
		return StatusNotCA, "no basicConstraints and not a v1 self-issued root"
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return StatusNoCertSign, "keyUsage lacks keyCertSign"
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 1024 {
			return StatusUnsupportedKey, fmt.Sprintf("RSA key of %d bits", n)
		}
	case *ecdsa.PublicKey:
	default:
		return StatusUnsupportedKey, fmt.Sprintf("%s key", c.PublicKeyAlgorithm)
	}
	switch {
	case now.After(c.NotAfter):
		return StatusExpired, "expired on " + c.NotAfter.UTC().Format(time.DateOnly)
	case now.Before(c.NotBefore):
		return StatusNotYetValid, "valid from " + c.NotBefore.UTC().Format(time.DateOnly)
	}
	return StatusUsable, ""
}

// cnsCAPolicies are certificate policies that, found on a CA certificate,
// mark a card-authentication CA. The CIE CAs carry their own arc
// (root 1.3.76.47.1, SUBCA1 1.3.76.47.2), matched by oidArcCIE.
var cnsCAPolicies = []asn1.ObjectIdentifier{OIDPolicyCNS, OIDPolicyCIE, OIDPolicyCRSLombardia, OIDPolicyCRSLombardia2}

var oidArcCIE = asn1.ObjectIdentifier{1, 3, 76, 47}

// cnsNameHints are matched, lower-cased, against the subject CN, OU and O.
// Chosen on the 358 CAs of the 2018 Italian trusted list: every regional
// "CA Cittadini" / "Certification Authority Cittadini", "Actalis CA per
// Autenticazione CNS 2", "I.T. Telecom CNS", "Ministero della Difesa - CA di
// Autenticazione CNS", the Ministero dell'Interno CIE CAs; none of the
// signature ("Firma"), timestamp ("TSA", "Marcatura Temporale") or PEC CAs.
var cnsNameHints = []struct{ needle, hint string }{
	{"cittadini", "name: Cittadini"},
	{"autenticazione", "name: Autenticazione"},
	{"ministero dell'interno", "name: Ministero dell'Interno (CIE)"},
	{"electronic identity card", "name: Electronic Identity Card (CIE)"},
	{"carta d'identit", "name: Carta d'Identità (CIE)"},
}

// looksLikeCNSCA reports whether c looks like a CNS or CIE authentication
// CA and why. It is a hint for the load report, not a trust decision: a PEM
// directory is trusted as the operator chose it, a TSL by its service type.
// Most real CNS CAs carry only anyPolicy or their provider's own policy, so
// the subject name decides for them when no card policy is listed.
func looksLikeCNSCA(c *x509.Certificate) (bool, string) {
	for _, p := range c.PolicyIdentifiers {
		for _, want := range cnsCAPolicies {
			if p.Equal(want) {
				return true, "policy " + p.String()
			}
		}
		if len(p) > len(oidArcCIE) && p[:len(oidArcCIE)].Equal(oidArcCIE) {
			return true, "policy " + p.String() + " (CIE arc)"
		}
	}
	var names []string
	names = append(names, c.Subject.CommonName)
	names = append(names, c.Subject.OrganizationalUnit...)
	names = append(names, c.Subject.Organization...)
	for _, n := range names {
		n = strings.ToLower(strings.ReplaceAll(n, "’", "'"))
		if hasWord(n, "cns") {
			return true, "name: CNS"
		}
		for _, h := range cnsNameHints {
			if strings.Contains(n, h.needle) {
				return true, h.hint
			}
		}
	}
	return false, ""
}

// hasWord reports whether the lower-case word occurs in s delimited by
// anything but ASCII letters and digits, so that "cns" matches
// "autenticazione cns" but not "cnsd" or "cnipa".
func hasWord(s, word string) bool {
	isAlnum := func(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !isAlnum(r) }) {
		if f == word {
			return true
		}
	}
	return false
}

// parseAnchorDER parses a candidate anchor. When Go's strict DER parser
// refuses it, one known real-world encoding error is repaired and the
// certificate parsed again: a BER BOOLEAN TRUE (any non-zero byte, here
// 0x01) instead of DER 0xFF in the basicConstraints extension, found in
// 2001 Enel.it roots of the Italian trusted list. The repair changes the
// anchor's bytes (its self-signature no longer verifies, which is never
// checked for anchors) but not its meaning nor its key. note says what was
// repaired; it is empty for a certificate that parsed as is.
func parseAnchorDER(der []byte) (cert *x509.Certificate, note string, err error) {
	cert, err = x509.ParseCertificate(der)
	if err == nil {
		return cert, "", nil
	}
	fixed, ok := repairBasicConstraintsBoolean(der)
	if !ok {
		return nil, "", err
	}
	cert, err2 := x509.ParseCertificate(fixed)
	if err2 != nil {
		return nil, "", err
	}
	return cert, fmt.Sprintf("repaired: %v (BER BOOLEAN in basicConstraints re-encoded as DER 0xFF)", err), nil
}

// oidBasicConstraintsTLV is the DER of OID 2.5.29.19.
var oidBasicConstraintsTLV = []byte{0x06, 0x03, 0x55, 0x1d, 0x13}

// repairBasicConstraintsBoolean returns a copy of der in which the critical
// flag and the cA field of basicConstraints, when encoded as a BER BOOLEAN
// other than 0x00 and 0xFF, are set to 0xFF. Lengths do not change. It
// reports whether anything was changed.
func repairBasicConstraintsBoolean(der []byte) ([]byte, bool) {
	i := bytes.Index(der, oidBasicConstraintsTLV)
	if i < 0 {
		return nil, false
	}
	out := bytes.Clone(der)
	changed := false
	fix := func(at int) {
		if out[at] != 0x00 && out[at] != 0xff {
			out[at] = 0xff
			changed = true
		}
	}
	p := i + len(oidBasicConstraintsTLV)
	if p+3 <= len(out) && out[p] == 0x01 && out[p+1] == 0x01 { // critical BOOLEAN
		fix(p + 2)
		p += 3
	}
	// extnValue OCTET STRING { SEQUENCE { cA BOOLEAN, ... } }, short-form lengths.
	if p+7 <= len(out) && out[p] == 0x04 && out[p+1] < 0x80 && out[p+2] == 0x30 &&
		out[p+3] < 0x80 && out[p+4] == 0x01 && out[p+5] == 0x01 {
		fix(p + 6)
	}
	return out, changed
}
