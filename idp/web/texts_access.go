package web

// The refusal of a service the person may not use (idp/access.go), whose
// message names the service (its configured name, %s), and the names of
// the card types on the welcome page.
var accessTexts = map[Lang]map[string]string{
	Italian: {
		"denied.title":     "Accesso non consentito",
		"denied.operators": "Il servizio «%s» è riservato agli operatori: accedi con la tua carta operatore.",
		"denied.citizens":  "Il servizio «%s» è riservato ai cittadini: accedi con la tua tessera personale.",
		"denied.roles":     "Il servizio «%s» richiede un ruolo da operatore che non ti è stato assegnato. Rivolgiti all'amministratore della tua organizzazione.",
		// The card types (x509cns.CardType), on the welcome page.
		"cardtype.national":            "Tessera Sanitaria - CNS nazionale",
		"cardtype.regional":            "Tessera Sanitaria - CNS regionale",
		"cardtype.other":               "Carta Nazionale dei Servizi",
		"cardtype.operator":            "Carta operatore",
		"cardtype.cie":                 "Carta d'Identità Elettronica (CIE)",
		"cardtype.chamber_of_commerce": "CNS della Camera di Commercio",
		"cardtype.unknown":             "Carta Nazionale dei Servizi",
		"field.organisation":           "Organizzazione",
	},
	English: {
		"denied.title":                 "Access not allowed",
		"denied.operators":             "The service «%s» is for operators only: log in with your operator card.",
		"denied.citizens":              "The service «%s» is for citizens only: log in with your personal card.",
		"denied.roles":                 "The service «%s» needs an operator role you have not been given. Ask your organisation's administrator.",
		"cardtype.national":            "National health card - CNS",
		"cardtype.regional":            "Regional health card - CNS",
		"cardtype.other":               "National Services Card",
		"cardtype.operator":            "Operator card",
		"cardtype.cie":                 "Electronic Identity Card (CIE)",
		"cardtype.chamber_of_commerce": "Chamber of Commerce CNS",
		"cardtype.unknown":             "National Services Card",
		"field.organisation":           "Organisation",
	},
}
