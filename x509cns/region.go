package x509cns

import (
	"crypto/x509"
	"strings"
)

// regions maps the ways issuing CAs spell an Italian region (lower case,
// hyphens as spaces) to the region's name as citizens read it. Longer
// spellings come first so that "regione autonoma della sardegna" wins over
// any shorter match.
var regions = []struct{ spelling, name string }{
	{"provincia autonoma di trento", "Provincia Autonoma di Trento"},
	{"provincia autonoma trento", "Provincia Autonoma di Trento"},
	{"provincia autonoma di bolzano", "Provincia Autonoma di Bolzano"},
	{"provincia autonoma bolzano", "Provincia Autonoma di Bolzano"},
	{"regione autonoma della sardegna", "Sardegna"},
	{"regione autonoma friuli venezia giulia", "Friuli-Venezia Giulia"},
	{"regione autonoma valle d'aosta", "Valle d'Aosta"},
	{"regione autonoma trentino alto adige", "Trentino-Alto Adige"},
	{"regione siciliana", "Sicilia"},
	{"regione sicilia", "Sicilia"},
	{"regione del veneto", "Veneto"},
	{"regione abruzzo", "Abruzzo"},
	{"regione basilicata", "Basilicata"},
	{"regione calabria", "Calabria"},
	{"regione campania", "Campania"},
	{"regione emilia romagna", "Emilia-Romagna"},
	{"regione friuli venezia giulia", "Friuli-Venezia Giulia"},
	{"regione lazio", "Lazio"},
	{"regione liguria", "Liguria"},
	{"regione lombardia", "Lombardia"},
	{"regione marche", "Marche"},
	{"regione molise", "Molise"},
	{"regione piemonte", "Piemonte"},
	{"regione puglia", "Puglia"},
	{"regione sardegna", "Sardegna"},
	{"regione toscana", "Toscana"},
	{"regione umbria", "Umbria"},
	{"regione valle d'aosta", "Valle d'Aosta"},
	{"regione veneto", "Veneto"},
}

// regionSeparators turns the separators CAs write between the words of a
// region into spaces. Built once: a strings.Replacer is safe for
// concurrent use, and building one (its lookup table) cost more than the
// replacement itself on every card login.
var regionSeparators = strings.NewReplacer("-", " ", "_", " ", "’", "'")

// RegionFromName returns the region named in s ("Regione Toscana - CA
// Cittadini" gives "Toscana"), or "" when s names none.
func RegionFromName(s string) string {
	norm := strings.Join(strings.Fields(regionSeparators.Replace(strings.ToLower(s))), " ")
	for _, r := range regions {
		if i := strings.Index(norm, r.spelling); i >= 0 {
			end := i + len(r.spelling)
			if end == len(norm) || norm[end] == ' ' || norm[end] == ',' {
				return r.name
			}
		}
	}
	return ""
}

// RegionOf returns the region of a card: from the issuing CA's common name
// first, then from the card's organisational units (the issuing
// administration, e.g. "Provincia Autonoma di Trento"), then from the
// issuer's organisation. issuer may be nil.
func RegionOf(cert, issuer *x509.Certificate) string {
	var candidates []string
	candidates = append(candidates, attr(cert.Issuer, OIDCommonName))
	candidates = append(candidates, attrs(cert.Subject, OIDOrganizationalUnit)...)
	candidates = append(candidates, attrs(cert.Issuer, OIDOrganizationalUnit)...)
	candidates = append(candidates, attrs(cert.Issuer, OIDOrganization)...)
	if issuer != nil {
		candidates = append(candidates, attrs(issuer.Subject, OIDOrganization)...)
	}
	for _, c := range candidates {
		if r := RegionFromName(c); r != "" {
			return r
		}
	}
	// A "Regione X - CA Cittadini" issuer outside the table (a new or a
	// test administration) still names its region.
	if cn := attr(cert.Issuer, OIDCommonName); strings.HasPrefix(cn, "Regione ") && strings.HasSuffix(cn, " - CA Cittadini") {
		return strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(cn, "Regione "), " - CA Cittadini"))
	}
	return ""
}
