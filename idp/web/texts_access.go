package web

// The refusal of a service the person may not use (idp/access.go): the
// message names the service (its configured name, %s).
func init() {
	add := func(lang Lang, kv map[string]string) {
		for k, v := range kv {
			texts[lang][k] = v
		}
	}
	add(Italian, map[string]string{
		"access.title":     "Accesso non consentito",
		"access.operators": "Il servizio «%s» è riservato agli operatori: accedi con la tua carta operatore.",
		"access.citizens":  "Il servizio «%s» è riservato ai cittadini: accedi con la tua tessera personale.",
		"access.roles":     "Il servizio «%s» richiede un ruolo da operatore che non ti è stato assegnato. Rivolgiti all'amministratore della tua organizzazione.",
	})
	add(English, map[string]string{
		"access.title":     "Access not allowed",
		"access.operators": "The service «%s» is for operators only: log in with your operator card.",
		"access.citizens":  "The service «%s» is for citizens only: log in with your personal card.",
		"access.roles":     "The service «%s» needs an operator role you have not been given. Ask your organisation's administrator.",
	})
}
