package oidc

import (
	"slices"
	"strings"

	"github.com/cnsgate/cnsgate/idp"
)

// The authentication levels of SPID and CIE id, in increasing order: a
// login that meets one meets every lower one (the rules let the provider
// authenticate at a higher level than asked).
var spidLevels = []string{
	"https://www.spid.gov.it/SpidL1",
	"https://www.spid.gov.it/SpidL2",
	"https://www.spid.gov.it/SpidL3",
}

// acrSupported are the levels a card login meets: SmartcardPKI always,
// then Options.ACRLevels, without repeats; discovery lists them.
func acrSupported(levels []string) []string {
	out := []string{idp.ACRSmartcard}
	for _, l := range levels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// acrMet returns the level to answer for the requested acr_values (in
// order of preference): the first one a card login meets, or, for a SPID
// level, the lowest higher configured level; ok is false when acr_values
// were sent and none can be met. No acr_values: "", the session's level.
func (p *Provider) acrMet(requested []string) (string, bool) {
	if len(requested) == 0 {
		return "", true
	}
	for _, want := range requested {
		if slices.Contains(p.acrLevels, want) {
			return want, true
		}
		i := slices.Index(spidLevels, want)
		for j := i + 1; i >= 0 && j < len(spidLevels); j++ {
			if slices.Contains(p.acrLevels, spidLevels[j]) {
				return spidLevels[j], true
			}
		}
	}
	return "", false
}

// checkACR decides the level of an authorization request: a spid or cie
// client that asks only for levels a card login does not meet is refused
// with access_denied (the rules' answer to credentials unsuitable for the
// level); for other clients acr_values stays a voluntary claim (OpenID
// Connect Core 3.1.2.1): the session's level is answered.
func (p *Provider) checkACR(c *client, req *authRequest) *oauthError {
	acr, ok := p.acrMet(req.ACRValues)
	if !ok && c.italian() {
		p.countRefusal(c.id, RefusalACR)
		return newErr(errAccessDenied, "a card login does not meet the requested acr_values (met: "+strings.Join(p.acrLevels, " ")+")")
	}
	req.ACR = acr
	return nil
}
