package web

// The demo's footer pages (InfoPage): what a real administration publishes
// on its own site and names in web.links.
var infoTexts = map[Lang]map[string]string{
	Italian: {
		"info.suffix":        "cnsgate demo",
		"info.notice":        "Pagina dimostrativa.",
		"info.privacy.title": "Informativa sul trattamento dei dati personali",
		"info.privacy.text": "Qui l'amministrazione che gestisce l'accesso con TS-CNS pubblica l'informativa prevista dall'articolo 13 del Regolamento (UE) 2016/679: " +
			"titolare del trattamento, dati trattati (codice fiscale, nome, cognome, numero della tessera, ente emittente, date degli accessi), " +
			"finalità, base giuridica, tempi di conservazione, diritti dell'interessato e come esercitarli. " +
			"La demo di cnsgate conserva questi dati solo sul computer in cui è avviata.",
		"info.accessibility.title": "Dichiarazione di accessibilità",
		"info.accessibility.text":  "Qui l'amministrazione pubblica la dichiarazione di accessibilità compilata sulla piattaforma dell'AgID, con il meccanismo di feedback per segnalare i contenuti non accessibili.",
		"info.legal.title":         "Note legali",
		"info.legal.text":          "Qui l'amministrazione pubblica le note legali del servizio: condizioni d'uso, diritti sui contenuti, responsabilità.",
	},
	English: {
		"info.suffix":        "cnsgate demo",
		"info.notice":        "Demonstration page.",
		"info.privacy.title": "Privacy notice",
		"info.privacy.text": "Here the administration that runs the TS-CNS login publishes the notice required by Article 13 of Regulation (EU) 2016/679: " +
			"the controller, the data processed (fiscal code, given name, family name, card number, issuer, dates of the logins), " +
			"purposes, legal basis, retention periods, the data subject's rights and how to exercise them. " +
			"The cnsgate demo keeps these data only on the computer it runs on.",
		"info.accessibility.title": "Accessibility statement",
		"info.accessibility.text":  "Here the administration publishes the accessibility statement filled in on AgID's platform, with the feedback mechanism for reporting content that is not accessible.",
		"info.legal.title":         "Legal notes",
		"info.legal.text":          "Here the administration publishes the service's legal notes: terms of use, rights on the content, liability.",
	},
}
