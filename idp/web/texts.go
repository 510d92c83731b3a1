package web

// texts holds every sentence of the pages. Reason messages are keyed
// "reason.<reason>" and are written for a citizen: what happened and what to
// do, never a technical detail.
var texts = map[Lang]map[string]string{
	Italian: {
		"app.name":       "Accesso con TS-CNS",
		"home.title":     "Accedi ai servizi con la tua Tessera Sanitaria - CNS",
		"home.intro":     "Inserisci la Tessera Sanitaria - Carta Nazionale dei Servizi nel lettore, poi premi il pulsante: il browser ti chiederà di scegliere il certificato e di digitare il PIN.",
		"home.button":    "Accedi con TS/CNS",
		"card.title":     "Tessera riconosciuta",
		"card.intro":     "Questi sono i dati letti dalla tua tessera.",
		"field.cf":       "Codice fiscale",
		"field.name":     "Nome",
		"field.surname":  "Cognome",
		"field.card":     "Numero tessera",
		"field.cardtype": "Tipo di tessera",
		"field.region":   "Regione",
		"field.issuer":   "Ente emittente",
		"field.expiry":   "Scadenza del certificato",
		"error.title":    "Accesso non riuscito",
		"error.ref":      "Codice della richiesta, da comunicare all'assistenza",
		"error.retry":    "Torna alla pagina di accesso",

		"reason.no_certificate":         "Il browser non ha presentato alcun certificato. Controlla che la tessera sia inserita nel lettore, che il software della tessera sia installato, e riprova scegliendo il certificato quando richiesto.",
		"reason.malformed_certificate":  "Il certificato presentato non è leggibile. Riprova; se il problema persiste, rivolgiti allo sportello che ha rilasciato la tessera.",
		"reason.unknown_issuer":         "La tessera è stata emessa da un ente non riconosciuto da questo servizio.",
		"reason.expired":                "Il certificato della tessera è scaduto. Puoi richiedere una nuova tessera alla tua ASL o all'ente che l'ha rilasciata.",
		"reason.not_yet_valid":          "Il certificato della tessera non è ancora valido. Riprova più tardi o verifica la data del tuo computer.",
		"reason.bad_policy":             "Il certificato presentato non è un certificato di autenticazione CNS o CIE. Scegli il certificato di autenticazione della tessera.",
		"reason.bad_key_usage":          "Il certificato presentato non può essere usato per l'autenticazione. Scegli il certificato di autenticazione della tessera.",
		"reason.bad_ext_key_usage":      "Il certificato presentato non può essere usato per l'autenticazione. Scegli il certificato di autenticazione della tessera.",
		"reason.weak_key":               "La tessera usa una chiave che questo servizio non accetta più. Puoi richiedere una nuova tessera.",
		"reason.weak_signature":         "La tessera usa un algoritmo di firma che questo servizio non accetta più. Puoi richiedere una nuova tessera.",
		"reason.no_fiscal_code":         "Nel certificato non è presente un codice fiscale.",
		"reason.bad_fiscal_code":        "Il codice fiscale letto dalla tessera non è valido.",
		"reason.bad_card_id":            "Il numero della tessera letto dal certificato non è valido.",
		"reason.revoked":                "Il certificato della tessera è stato revocato. Se hai bloccato o sostituito la tessera, usa quella nuova.",
		"reason.revocation_unavailable": "Non è stato possibile verificare lo stato della tessera presso l'ente emittente. Riprova tra qualche minuto.",
		"reason.not_registered":         "La tessera non è ancora registrata per questo servizio.",
		"reason.registration_replaced":  "Questa tessera è stata sostituita da una più recente: accedi con la nuova tessera.",
		"reason.not_eligible":           "Il tuo codice fiscale non risulta tra quelli abilitati a questo servizio.",
		"reason.internal_error":         "Si è verificato un errore del servizio. Riprova tra qualche minuto.",
	},
	English: {
		"app.name":       "TS-CNS login",
		"home.title":     "Log in with your health card (TS-CNS)",
		"home.intro":     "Insert your Tessera Sanitaria - Carta Nazionale dei Servizi in the reader, then press the button: your browser will ask you to choose the certificate and to type your PIN.",
		"home.button":    "Log in with TS/CNS",
		"card.title":     "Card recognised",
		"card.intro":     "This is the data read from your card.",
		"field.cf":       "Fiscal code",
		"field.name":     "Given name",
		"field.surname":  "Family name",
		"field.card":     "Card number",
		"field.cardtype": "Card type",
		"field.region":   "Region",
		"field.issuer":   "Issuer",
		"field.expiry":   "Certificate expiry",
		"error.title":    "Login failed",
		"error.ref":      "Request reference, to quote to the help desk",
		"error.retry":    "Back to the login page",

		"reason.no_certificate":         "Your browser presented no certificate. Check that the card is in the reader and its software is installed, then try again and choose the certificate when asked.",
		"reason.malformed_certificate":  "The certificate presented cannot be read. Try again; if it keeps failing, contact the office that issued the card.",
		"reason.unknown_issuer":         "The card was issued by an authority this service does not recognise.",
		"reason.expired":                "The card's certificate has expired. You can ask your health authority (ASL) or the issuer for a new card.",
		"reason.not_yet_valid":          "The card's certificate is not valid yet. Try again later or check your computer's date.",
		"reason.bad_policy":             "The certificate presented is not a CNS or CIE authentication certificate. Choose the card's authentication certificate.",
		"reason.bad_key_usage":          "The certificate presented cannot be used to log in. Choose the card's authentication certificate.",
		"reason.bad_ext_key_usage":      "The certificate presented cannot be used to log in. Choose the card's authentication certificate.",
		"reason.weak_key":               "The card uses a key this service no longer accepts. You can ask for a new card.",
		"reason.weak_signature":         "The card uses a signature algorithm this service no longer accepts. You can ask for a new card.",
		"reason.no_fiscal_code":         "The certificate holds no fiscal code.",
		"reason.bad_fiscal_code":        "The fiscal code read from the card is not valid.",
		"reason.bad_card_id":            "The card number read from the certificate is not valid.",
		"reason.revoked":                "The card's certificate has been revoked. If you blocked or replaced the card, use the new one.",
		"reason.revocation_unavailable": "The card's status could not be checked with its issuer. Please try again in a few minutes.",
		"reason.not_registered":         "This card is not registered for this service yet.",
		"reason.registration_replaced":  "This card has been replaced by a newer one: log in with the new card.",
		"reason.not_eligible":           "Your fiscal code is not among those enabled for this service.",
		"reason.internal_error":         "The service had an error. Please try again in a few minutes.",
	},
}

// ReasonMessage returns the citizen's message for a refusal reason.
func ReasonMessage(lang Lang, reason string) string {
	if s, ok := texts[lang]["reason."+reason]; ok {
		return s
	}
	return lang.T("reason.internal_error")
}
