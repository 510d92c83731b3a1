package x509cns

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the fiscal-code and card-id validators. They are wrapped
// into Rejections by ExtractIdentity.
var (
	ErrFiscalCodeSyntax = errors.New("fiscal code does not match the codice fiscale pattern")
	ErrFiscalCodeCheck  = errors.New("fiscal code check character is wrong")
	ErrCardIDSyntax     = errors.New("card id must be 16 digits")
	ErrCardIDCheck      = errors.New("card id Luhn check digit is wrong")
)

// oddValues are the values of the characters in odd (1-based) positions of a
// codice fiscale, indexed by letter; digits take the value of the letter
// with the same index (0=A, 1=B, ...).
var oddValues = [26]int{
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // A..J
	2, 4, 18, 20, 11, 3, 6, 8, 12, 14, // K..T
	16, 10, 22, 25, 24, 23, // U..Z
}

// omocodia maps the letters that may replace a digit at positions 7, 8, 10,
// 11, 13, 14, 15 (1-based) back to that digit.
const omocodiaLetters = "LMNPQRSTUV"

// omocodiaPositions are the 0-based positions of the digits of a fiscal code.
var omocodiaPositions = [...]int{6, 7, 9, 10, 12, 13, 14}

const monthLetters = "ABCDEHLMPRST"

// NormalizeFiscalCode upper-cases the ASCII letters of s and trims
// surrounding ASCII spaces. Nothing else changes: Unicode case folding would
// turn 'ſ' (U+017F) into 'S' and 'ı' (U+0131) into 'I', so that a code
// spelled with them would pass for another person's; left as they are, such
// bytes fail ValidateFiscalCode.
func NormalizeFiscalCode(s string) string {
	s = strings.Trim(s, " \t\r\n\v\f")
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// firstNonASCII returns the index of the first byte of s outside printable
// ASCII (0x20-0x7e), or -1.
func firstNonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return i
		}
	}
	return -1
}

// FiscalCodeCheckChar returns the check character for the first 15
// characters of a fiscal code, which must be upper-case letters or digits.
func FiscalCodeCheckChar(first15 string) (byte, error) {
	if len(first15) != 15 {
		return 0, fmt.Errorf("%w: need 15 characters, got %d", ErrFiscalCodeSyntax, len(first15))
	}
	sum := 0
	for i := 0; i < 15; i++ {
		c := first15[i]
		var idx int
		switch {
		case c >= '0' && c <= '9':
			idx = int(c - '0')
		case c >= 'A' && c <= 'Z':
			idx = int(c - 'A')
		default:
			return 0, fmt.Errorf("%w: character %q at position %d", ErrFiscalCodeSyntax, c, i+1)
		}
		if i%2 == 0 { // 1-based odd position
			sum += oddValues[idx]
		} else {
			sum += idx
		}
	}
	return byte('A' + sum%26), nil
}

// ValidateFiscalCode checks the syntax of a 16-character personal fiscal code
// (omocodia included), the plausibility of its date fields and its check
// character. s must already be normalised.
func ValidateFiscalCode(s string) error {
	if len(s) != 16 {
		return fmt.Errorf("%w: length %d", ErrFiscalCodeSyntax, len(s))
	}
	for i := 0; i < 6; i++ {
		if !isUpperLetter(s[i]) {
			return fmt.Errorf("%w: position %d must be a letter", ErrFiscalCodeSyntax, i+1)
		}
	}
	plain, err := deOmocode(s)
	if err != nil {
		return err
	}
	if strings.IndexByte(monthLetters, s[8]) < 0 {
		return fmt.Errorf("%w: position 9 is not a month letter", ErrFiscalCodeSyntax)
	}
	if !isUpperLetter(s[11]) || !isUpperLetter(s[15]) {
		return fmt.Errorf("%w: positions 12 and 16 must be letters", ErrFiscalCodeSyntax)
	}
	day := int(plain[9]-'0')*10 + int(plain[10]-'0')
	if !(day >= 1 && day <= 31) && !(day >= 41 && day <= 71) {
		return fmt.Errorf("%w: day of birth %02d out of range", ErrFiscalCodeSyntax, day)
	}
	want, err := FiscalCodeCheckChar(s[:15])
	if err != nil {
		return err
	}
	if s[15] != want {
		return fmt.Errorf("%w: got %c, want %c", ErrFiscalCodeCheck, s[15], want)
	}
	return nil
}

func isUpperLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

// deOmocode returns the 16-character code s with the omocodia letters of
// its digit positions read back as digits, so that the date can be read.
func deOmocode(s string) ([16]byte, error) {
	var plain [16]byte
	copy(plain[:], s)
	for _, p := range omocodiaPositions {
		c := s[p]
		switch {
		case c >= '0' && c <= '9':
		case strings.IndexByte(omocodiaLetters, c) >= 0:
			plain[p] = '0' + byte(strings.IndexByte(omocodiaLetters, c))
		default:
			return plain, fmt.Errorf("%w: position %d must be a digit or one of %s", ErrFiscalCodeSyntax, p+1, omocodiaLetters)
		}
	}
	return plain, nil
}

// MaskFiscalCode keeps the first three and last characters of a fiscal
// code, so that logs can correlate events without holding personal data:
// "RSSMRA80A01H501U" becomes "RSS************U".
func MaskFiscalCode(s string) string {
	if len(s) < 5 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-4) + s[len(s)-1:]
}

// CardType is the kind of card: read from the first digit of the card id,
// refined by ClassifyCard (cardtype.go) for the CIE and the Chamber of
// Commerce's CNS tokens. The same names reach the OIDC claim card_type,
// the SAML attribute cardType, the admin API and `cnsgate inspect`.
type CardType string

// Card types by the first digit of the card id.
const (
	CardTypeNational CardType = "national" // 5: national citizen card
	CardTypeRegional CardType = "regional" // 6: regional citizen card
	CardTypeOther    CardType = "other"    // 7: other
	CardTypeOperator CardType = "operator" // 8 or 9: operator card
	CardTypeUnknown  CardType = "unknown"  // no card id (e.g. serialNumber-style subjects) or another digit
)

// CardTypeOf returns the card type of a card id.
func CardTypeOf(cardID string) CardType {
	if cardID == "" {
		return CardTypeUnknown
	}
	switch cardID[0] {
	case '5':
		return CardTypeNational
	case '6':
		return CardTypeRegional
	case '7':
		return CardTypeOther
	case '8', '9':
		return CardTypeOperator
	}
	return CardTypeUnknown
}

// ValidateCardID checks that id is 16 digits with a correct Luhn check digit.
func ValidateCardID(id string) error {
	if len(id) != 16 {
		return fmt.Errorf("%w: length %d", ErrCardIDSyntax, len(id))
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return ErrCardIDSyntax
		}
	}
	if LuhnCheckDigit(id[:15]) != id[15] {
		return ErrCardIDCheck
	}
	return nil
}

// LuhnCheckDigit returns the Luhn check digit for a string of digits.
func LuhnCheckDigit(digits string) byte {
	sum := 0
	double := true // the rightmost payload digit is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}
