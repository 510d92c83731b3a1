package x509cns

import "regexp"

// fiscalCodeShape matches a personal fiscal code anywhere in a text, in
// either case (a hostile certificate may carry one in lower case), with
// omocodia: the pattern of DESIGN.md without anchors. It is compiled once
// and never changed.
var fiscalCodeShape = regexp.MustCompile(`(?i)[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]`)

// MaskFiscalCodes returns s with every run shaped like a fiscal code masked
// by the rule of MaskFiscalCode ("RSSMRA85T10A562S/6038..." becomes
// "RSS************S/6038..."). Error details and log lines pass through it,
// so that a subject, an issuer name or a library's error text never carries
// a citizen's fiscal code into a log. A run that only looks like a fiscal
// code is masked too: that costs a log reader nothing.
func MaskFiscalCodes(s string) string {
	if len(s) < 16 {
		return s
	}
	return fiscalCodeShape.ReplaceAllStringFunc(s, MaskFiscalCode)
}
