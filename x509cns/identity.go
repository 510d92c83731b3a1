package x509cns

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Identity is who a validated card certificate belongs to.
type Identity struct {
	FiscalCode  string    `json:"fiscal_code"`           // 16-character codice fiscale, upper case
	CardID      string    `json:"card_id,omitempty"`     // 16-digit card id, empty for serialNumber-style subjects
	CardHash    string    `json:"card_hash,omitempty"`   // base64 SHA-1 of the card's personal-data file, as in the CN
	CardType    CardType  `json:"card_type"`             // from the card id's first digit
	GivenName   string    `json:"given_name,omitempty"`  // GN attribute, when the issuer writes it
	FamilyName  string    `json:"family_name,omitempty"` // SN attribute, when the issuer writes it
	Issuer      string    `json:"issuer"`                // issuing CA's common name
	Region      string    `json:"region,omitempty"`      // from the issuing CA, e.g. "Toscana"; empty when unknown
	Serial      string    `json:"serial"`                // certificate serial number, lower-case hex
	Fingerprint string    `json:"sha256"`                // SHA-256 of the certificate DER, lower-case hex
	NotAfter    time.Time `json:"not_after"`             // end of the certificate's validity
	Policies    []string  `json:"policies,omitempty"`    // certificate policy OIDs, dotted
}

// LogValue masks the fiscal code so that an Identity can be logged whole.
func (id Identity) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("fiscal_code", MaskFiscalCode(id.FiscalCode)),
		slog.String("card_type", string(id.CardType)),
		slog.String("issuer", id.Issuer),
		slog.String("serial", id.Serial),
	)
}

// Fingerprint returns the lower-case hex SHA-256 of a certificate's DER.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// CNFields is the content of a TS-CNS common name "CF/CARDID.HASH".
type CNFields struct {
	FiscalCode string
	CardID     string
	Hash       string
}

// ErrNonASCII is returned by ParseCN for a common name whose fiscal-code or
// card-id part holds a byte outside printable ASCII: case folding or
// look-alike characters must never turn it into someone's fiscal code.
var ErrNonASCII = errors.New("non-ASCII character where a fiscal code or card id belongs")

// asciiSpace is what surrounds a value and is trimmed from it.
const asciiSpace = " \t\r\n\v\f"

// ParseCN splits a TS-CNS common name. The fiscal code ends at the first
// '/', the card id at the last '.'; the hash (base64) may itself contain '/'
// and '+'. A CN without '/' is taken as a bare fiscal code. The fiscal-code
// and card-id parts must be printable ASCII (ErrNonASCII), checked before
// they are normalised; only the shape is checked here, the fiscal code and
// card id are validated by the caller.
func ParseCN(cn string) (CNFields, error) {
	cn = strings.Trim(cn, asciiSpace)
	if cn == "" {
		return CNFields{}, fmt.Errorf("empty common name")
	}
	slash := strings.IndexByte(cn, '/')
	if slash < 0 {
		return CNFields{FiscalCode: NormalizeFiscalCode(cn)}, nil
	}
	if i := firstNonASCII(cn[:slash]); i >= 0 {
		return CNFields{}, fmt.Errorf("%w: byte %#x at offset %d of the fiscal code", ErrNonASCII, cn[i], i)
	}
	f := CNFields{FiscalCode: NormalizeFiscalCode(cn[:slash])}
	rest := cn[slash+1:]
	if dot := strings.LastIndexByte(rest, '.'); dot >= 0 {
		f.CardID, f.Hash = rest[:dot], rest[dot+1:]
	} else {
		f.CardID = rest
	}
	if i := firstNonASCII(f.CardID); i >= 0 {
		return CNFields{}, fmt.Errorf("%w: byte %#x at offset %d of the card id", ErrNonASCII, f.CardID[i], i)
	}
	if f.CardID == "" {
		return f, fmt.Errorf("common name has no card id after '/'")
	}
	return f, nil
}

// looksLikeFiscalCode reports whether s has the length and alphabet of a
// personal fiscal code, so that a wrong check character is told apart from
// a CN that holds a person's name.
func looksLikeFiscalCode(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// fiscalCodeFromSerialNumber reads "IT:<CF>" or "TINIT-<CF>" (ETSI EN 319 412-1
// semantics identifier) from a subject serialNumber.
// The prefix is matched in ASCII only: Unicode upper-casing changes byte
// lengths, so its offsets would not be those of sn.
func fiscalCodeFromSerialNumber(sn string) (string, bool) {
	up := NormalizeFiscalCode(sn)
	for _, p := range []string{"TINIT-", "IT:"} {
		if strings.HasPrefix(up, p) {
			return up[len(p):], true
		}
	}
	return "", false
}

// attr returns the first value of attribute t in a parsed DER name.
func attr(name pkix.Name, t asn1.ObjectIdentifier) string {
	for _, a := range name.Names {
		if a.Type.Equal(t) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// attrs returns every value of attribute t in a parsed DER name.
func attrs(name pkix.Name, t asn1.ObjectIdentifier) []string {
	var out []string
	for _, a := range name.Names {
		if a.Type.Equal(t) {
			if s, ok := a.Value.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// ExtractIdentity reads the identity from a card certificate. issuer is the
// certificate of the CA that issued it (used for the region), or nil. The
// subject is read attribute by attribute from the DER, never from a
// formatted DN string.
func ExtractIdentity(cert, issuer *x509.Certificate) (*Identity, error) {
	id := &Identity{
		GivenName:   strings.TrimSpace(attr(cert.Subject, OIDGivenName)),
		FamilyName:  strings.TrimSpace(attr(cert.Subject, OIDSurname)),
		Issuer:      attr(cert.Issuer, OIDCommonName),
		Serial:      hex.EncodeToString(cert.SerialNumber.Bytes()),
		Fingerprint: Fingerprint(cert),
		NotAfter:    cert.NotAfter,
	}
	for _, p := range cert.PolicyIdentifiers {
		id.Policies = append(id.Policies, p.String())
	}
	id.Region = RegionOf(cert, issuer)

	if err := identityFromSubject(id, cert.Subject); err != nil {
		return nil, err
	}
	id.CardType = ClassifyCard(cert, issuer, id.CardID)
	return id, nil
}

// identityFromSubject fills id's fiscal code and card id from the CN, or
// from serialNumber when the CN holds no fiscal code. A subject that could
// be read two ways is refused (ReasonBadSubject): two CN attributes, or
// non-ASCII bytes where the fiscal code or card id belongs.
func identityFromSubject(id *Identity, subject pkix.Name) error {
	if n := countAttr(subject, OIDCommonName); n > 1 {
		return Reject(ReasonBadSubject, "subject has %d common names", n)
	}
	cn := attr(subject, OIDCommonName)
	fields, cnErr := ParseCN(cn)
	switch {
	case errors.Is(cnErr, ErrNonASCII):
		return &Rejection{Reason: ReasonBadSubject, Detail: "common name", Err: cnErr}
	case cnErr == nil && looksLikeFiscalCode(fields.FiscalCode):
		return identityFromCN(id, fields)
	case cnErr == nil && strings.IndexByte(cn, '/') >= 0:
		// "XXXX/CARDID.HASH" with something that is not a fiscal code.
		return Reject(ReasonBadFiscalCode, "common name holds %q where a fiscal code belongs", MaskFiscalCode(fields.FiscalCode))
	case firstNonASCII(cn) >= 0 && looksLikeFiscalCode(strings.ToUpper(strings.TrimSpace(cn))):
		// A bare CN that only Unicode case folding makes a fiscal code.
		return Reject(ReasonBadSubject, "common name is a fiscal code only after Unicode case folding")
	}
	sn := attr(subject, OIDSerialNumber)
	cf, ok := fiscalCodeFromSerialNumber(sn)
	if !ok {
		return Reject(ReasonNoFiscalCode, "neither the common name nor serialNumber carry a fiscal code")
	}
	if i := firstNonASCII(cf); i >= 0 {
		return &Rejection{Reason: ReasonBadSubject, Detail: "serialNumber", Err: fmt.Errorf("%w: byte %#x at offset %d of the fiscal code", ErrNonASCII, cf[i], i)}
	}
	if err := ValidateFiscalCode(cf); err != nil {
		return &Rejection{Reason: ReasonBadFiscalCode, Detail: "serialNumber", Err: err}
	}
	id.FiscalCode = cf
	return nil
}

// identityFromCN validates the fiscal code and card id of a TS-CNS CN.
func identityFromCN(id *Identity, fields CNFields) error {
	if err := ValidateFiscalCode(fields.FiscalCode); err != nil {
		return &Rejection{Reason: ReasonBadFiscalCode, Detail: "common name", Err: err}
	}
	id.FiscalCode = fields.FiscalCode
	if fields.CardID != "" {
		if err := ValidateCardID(fields.CardID); err != nil {
			return &Rejection{Reason: ReasonBadCardID, Detail: "common name", Err: err}
		}
		id.CardID, id.CardHash = fields.CardID, fields.Hash
	}
	return nil
}

// countAttr counts the attributes of type t in a parsed DER name, whatever
// their value type.
func countAttr(name pkix.Name, t asn1.ObjectIdentifier) int {
	n := 0
	for _, a := range name.Names {
		if a.Type.Equal(t) {
			n++
		}
	}
	return n
}
