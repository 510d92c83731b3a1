package cnstest

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Building blocks of generated fiscal codes: the consonant/vowel triplets of
// common surnames and given names, and real cadastral codes (Roma, Milano,
// Firenze, Napoli, Torino, Trento, Bolzano, Palermo, Bari, Cagliari, Aosta,
// Genova, and a foreign state, Germania).
var (
	fcSurnames = [...]string{"RSS", "BNC", "VRD", "FRR", "RMN", "CLM", "RCC", "MRN", "GLL", "CNT", "BRN", "GRC", "LMB", "MRT", "SPS", "FNT"}
	fcNames    = [...]string{"MRA", "GNN", "LGU", "FNC", "NDR", "GPP", "LCA", "PLA", "MRC", "DVD", "SRA", "NNA", "GLI", "CHR", "LSS", "FRC"}
	fcTowns    = [...]string{"H501", "F205", "D612", "F839", "L219", "L378", "A952", "G273", "A662", "B354", "A326", "D969", "Z112"}
	fcMonths   = "ABCDEHLMPRST"
)

// fcSpace is the number of distinct codes FiscalCode produces before it
// repeats itself.
const fcSpace = 2 * 4 * len(fcSurnames) * len(fcNames) * 28 * 12 * 60 * len(fcTowns)

// omocodia replaces digits with the letters L M N P Q R S T U V for 0–9,
// starting from the rightmost digit position (0-based 14, 13, 12, 10, 9, 7, 6).
var omocodiaOrder = [...]int{14, 13, 12, 10, 9, 7, 6}

const omocodiaLetters = "LMNPQRSTUV"

// FiscalCode returns a deterministic, valid 16-character fiscal code for
// index i (i ≥ 0). Consecutive indexes vary sex, omocodia, surname and name
// first: odd i are women (day of birth + 40), i/2 mod 4 selects omocodia
// with 0, 1, 2 or 3 letter substitutions (0: none). Distinct i below ~500
// million give distinct codes. Every result passes x509cns.ValidateFiscalCode.
func FiscalCode(i int) string {
	if i < 0 {
		i = -i
	}
	i %= fcSpace
	female := i%2 == 1
	i /= 2
	omocodia := i % 4
	i /= 4
	surname := fcSurnames[i%len(fcSurnames)]
	i /= len(fcSurnames)
	name := fcNames[i%len(fcNames)]
	i /= len(fcNames)
	day := 1 + i%28
	i /= 28
	month := fcMonths[i%12]
	i /= 12
	year := 40 + i%60 // born 1940–1999
	i /= 60
	town := fcTowns[i%len(fcTowns)]
	if female {
		day += 40
	}
	b := []byte(fmt.Sprintf("%s%s%02d%c%02d%s", surname, name, year, month, day, town))
	for k := range omocodia {
		p := omocodiaOrder[k]
		b[p] = omocodiaLetters[b[p]-'0']
	}
	return withCheckChar(string(b))
}

// withCheckChar appends the check character to the first 15 characters.
func withCheckChar(first15 string) string {
	c, err := x509cns.FiscalCodeCheckChar(first15)
	if err != nil {
		panic("cnstest: generated fiscal code is malformed: " + first15)
	}
	return first15 + string(c)
}

// WrongCheckChar returns cf with its check character replaced by another
// letter: the syntax stays valid, the check fails.
func WrongCheckChar(cf string) string {
	if len(cf) != 16 {
		return cf
	}
	last := cf[15]
	if last < 'A' || last > 'Z' {
		last = 'A'
	}
	return cf[:15] + string(rune('A'+(last-'A'+1)%26))
}

// CardID returns a deterministic 16-digit card id for index i with a correct
// Luhn check digit. typeDigit is the first digit, the card type (5 national,
// 6 regional, 7 other, 8 or 9 operator); it may be given as a number (6) or
// a character ('6').
func CardID(typeDigit byte, i int) string {
	if typeDigit <= 9 {
		typeDigit += '0'
	}
	if i < 0 {
		i = -i
	}
	body := fmt.Sprintf("%c038%011d", typeDigit, i%100_000_000_000)
	return body + string(x509cns.LuhnCheckDigit(body))
}

// CardHash returns the base64 SHA-1 digest that ends a TS-CNS common name,
// standing in for the hash of the card's personal-data file. It is
// deterministic in (fiscalCode, cardID) and always contains both '/' and '+'
// so that parsers which split on the wrong separator, or which read an
// RFC 2253-escaped DN, fail visibly.
func CardHash(fiscalCode, cardID string) string {
	for n := 0; ; n++ {
		sum := sha1.Sum(fmt.Appendf(nil, "%s\x00%s\x00%d", fiscalCode, cardID, n))
		h := base64.StdEncoding.EncodeToString(sum[:])
		if strings.Contains(h, "/") && strings.Contains(h, "+") {
			return h
		}
	}
}

// CNSCommonName returns the TS-CNS common name "<CF>/<CARDID>.<HASH>".
func CNSCommonName(fiscalCode, cardID, hash string) string {
	return fiscalCode + "/" + cardID + "." + hash
}
