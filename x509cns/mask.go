package x509cns

import "regexp"

// fiscalCodeShape matches a personal fiscal code standing as a word of a
// text (after "TINIT-", before "/" in a CN, between quotes or spaces), in
// either case (a hostile certificate may carry one in lower case), with
// omocodia: the pattern of DESIGN.md. The word boundaries keep it off the
// inside of longer tokens: a 64-digit session hash or a card serial in hex
// holds fiscal-code-shaped runs by chance, and masking them would corrupt
// the log lines that correlate a session. It is compiled once and never
// changed.
var fiscalCodeShape = regexp.MustCompile(`(?i)\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b`)

// MaskFiscalCodes returns s with every run shaped like a fiscal code masked
// by the rule of MaskFiscalCode ("RSSMRA85T10A562S/6038..." becomes
// "RSS************S/6038..."). Error details and log lines pass through it,
// so that a subject, an issuer name or a library's error text never carries
// a citizen's fiscal code into a log. A word that only looks like a fiscal
// code is masked too.
func MaskFiscalCodes(s string) string {
	if len(s) < 16 {
		return s
	}
	return fiscalCodeShape.ReplaceAllStringFunc(s, MaskFiscalCode)
}
