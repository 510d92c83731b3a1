package registry

import "strings"

// maskFiscalCode keeps the first three and last characters of a fiscal code,
// so that logs can correlate events without holding personal data:
// "RSSMRA80A01H501U" becomes "RSS************U". It is the rule of
// x509cns.MaskFiscalCode, which this package does not import (it holds types
// only); TestMaskAgreesWithX509cns keeps the two from drifting apart. It
// neither validates nor normalises: that is the store's business.
func maskFiscalCode(s string) string {
	if len(s) < 5 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-4) + s[len(s)-1:]
}
