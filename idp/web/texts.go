package web

// texts holds every sentence of the pages: pageTexts, the refusal
// messages of reasonTexts (texts_reasons.go), the refusal of a service and
// the card types (texts_access.go) and the demo's footer pages
// (texts_info.go).
var texts = merge(pageTexts, reasonTexts, accessTexts, infoTexts, accountTexts)

// merge returns one map per language holding the keys of every map given.
func merge(sets ...map[Lang]map[string]string) map[Lang]map[string]string {
	out := map[Lang]map[string]string{}
	for _, set := range sets {
		for lang, m := range set {
			if out[lang] == nil {
				out[lang] = map[string]string{}
			}
			for k, v := range m {
				out[lang][k] = v
			}
		}
	}
	return out
}

// pageTexts are the sentences of the pages, by language.
var pageTexts = map[Lang]map[string]string{
	Italian: {
		"app.name":         "Accesso con TS-CNS",
		"home.title":       "Accedi ai servizi con la tua Tessera Sanitaria - CNS",
		"home.intro":       "Inserisci la Tessera Sanitaria - Carta Nazionale dei Servizi nel lettore, poi premi il pulsante: il browser ti chiederà di scegliere il certificato e di digitare il PIN.",
		"home.button":      "Accedi con TS/CNS",
		"card.title":       "Tessera riconosciuta",
		"card.intro":       "Questi sono i dati letti dalla tua tessera.",
		"field.cf":         "Codice fiscale",
		"field.name":       "Nome",
		"field.surname":    "Cognome",
		"field.card":       "Numero tessera",
		"field.cardtype":   "Tipo di tessera",
		"field.region":     "Regione",
		"field.roles":      "Ruoli",
		"release.title":    "Dati che saranno inviati al servizio",
		"release.text":     "Per completare l'accesso, cnsgate invierà questi dati a",
		"release.note":     "Te lo chiederemo di nuovo solo se il servizio chiederà dati diversi.",
		"release.continue": "Continua",
		"field.issuer":     "Ente emittente",
		"field.expiry":     "Scadenza del certificato",
		"error.title":      "Accesso non riuscito",
		"error.ref":        "Codice della richiesta, da comunicare all'assistenza",
		"error.retry":      "Torna alla pagina di accesso",
		"error.help":       "Trovi i contatti dell'assistenza in fondo alla pagina.",
		"error.retrycard":  "Riprova",
		"cancel.invalid":   "Questa richiesta di accesso non può più essere annullata: è scaduta, già conclusa o aperta in un altro browser.",

		"nav.skip":             "Vai al contenuto principale",
		"help.title":           "Assistenza",
		"help.phone":           "Telefono",
		"help.email":           "Posta elettronica",
		"help.middleware":      "Scarica il software della tessera (middleware)",
		"help.drivers":         "Scarica i driver del lettore di smart card",
		"footer.about":         "Accesso ai servizi online con Tessera Sanitaria - Carta Nazionale dei Servizi.",
		"footer.links":         "Informazioni legali",
		"footer.accessibility": "Dichiarazione di accessibilità",
		"footer.privacy":       "Privacy",
		"footer.legal":         "Note legali",
		"home.needs":           "Ti servono la tessera con il suo PIN, un lettore di smart card e il software della tessera installato sul computer.",
		"notfound.title":       "Pagina non trovata",
		"notfound.text":        "La pagina che cerchi non esiste o è stata spostata. Controlla l'indirizzo oppure torna alla pagina iniziale.",
		"notfound.back":        "Torna alla pagina iniziale",
		"logout.cancel":        "Annulla",
		"login.service":        "Stai accedendo a",
		"login.cancel":         "Annulla e torna al servizio",
		"register.notice":      "Prima di registrare la tessera leggi come vengono trattati i tuoi dati:",
		"register.notice.link": "informativa sul trattamento dei dati personali",
		"access.failed":        "Accesso non riuscito",

		"field.fullname":      "Nome e cognome",
		"register.title":      "Registra TS-CNS",
		"register.intro":      "La tessera è valida ma non è ancora registrata. Controlla i dati letti dalla tessera e conferma la registrazione.",
		"register.consent":    "Acconsento al trattamento dei dati letti dalla tessera per l'accesso ai servizi.",
		"register.button":     "Registra TS-CNS",
		"register.failed":     "Errore di registrazione",
		"register.noconsent":  "Per registrare la tessera è necessario dare il consenso.",
		"registered.title":    "Registrazione completata",
		"registered.text":     "Operazione correttamente eseguita.",
		"registered.continue": "Continua",
		"welcome.title":       "Ti diamo il benvenuto",
		"welcome.services":    "Servizi attivi",
		"welcome.noservices":  "Nessun servizio configurato.",
		"welcome.accesses":    "Ultimi accessi",
		"welcome.logout":      "Esci",
		"access.when":         "Data e ora",
		"access.service":      "Servizio",
		"access.outcome":      "Esito",
		"access.ok":           "Accesso riuscito",
		"logout.title":        "Vuoi uscire?",
		"logout.refused":      "Uscita non riuscita",
		"logout.text":         "Uscendo chiudi la sessione su tutti i servizi a cui hai avuto accesso con la tessera.",
		"loggedout.title":     "Hai chiuso la sessione",
		"loggedout.text":      "La sessione è stata chiusa e i servizi collegati sono stati avvisati.",
		"loggedout.advice":    "Per completare l'uscita chiudi il browser e rimuovi la tessera dal lettore.",
		"loggedout.again":     "Accedi di nuovo",
		"unavailable.title":   "Servizio temporaneamente non disponibile",
		"unavailable.text":    "Il servizio è temporaneamente non disponibile. Riprova tra qualche minuto.",
		"csrf.invalid":        "La richiesta non è valida o è scaduta. Torna alla pagina di accesso e riprova.",
		"handoff.invalid":     "Il collegamento di accesso è scaduto (vale 30 secondi) o è già stato usato. Torna alla pagina di accesso e accedi di nuovo.",
		"ratelimit.title":     "Troppe richieste di accesso",
		"ratelimit.text":      "Da questo indirizzo sono arrivate troppe richieste di accesso in poco tempo. Attendi qualche minuto, poi torna all'applicazione e riprova.",
		"pending.toolarge":    "La richiesta di accesso inviata dall'applicazione è troppo lunga. Torna all'applicazione e riprova; se il problema persiste, segnalalo all'assistenza dell'applicazione.",
		"confirm.title":       "Conferma chi sta accedendo",
		"confirm.text":        "Stai per accedere come",
		"confirm.continue":    "Continua",
		"confirm.notme":       "Non sono io",
		"notme.title":         "Accesso annullato",
		"notme.text":          "Non è stato effettuato alcun accesso con la tessera nel lettore.",
		"notme.advice":        "Rimuovi la tessera dal lettore e chiudi il browser; poi inserisci la tua tessera e accedi di nuovo.",

		"form.title":    "Ritorno all'applicazione",
		"form.text":     "Ti stiamo riportando all'applicazione. Se non succede nulla, premi il pulsante.",
		"form.noscript": "Premi il pulsante per tornare all'applicazione.",
		"form.button":   "Continua",

		"request.title":  "Richiesta non valida",
		"oidc.request":   "L'applicazione che ti ha indirizzato qui ha inviato una richiesta di accesso non valida (applicazione o indirizzo di ritorno non registrati). Torna all'applicazione e riprova; se il problema persiste, segnalalo all'assistenza dell'applicazione.",
		"saml.request":   "L'applicazione che ti ha indirizzato qui ha inviato una richiesta di accesso SAML non valida o non riconosciuta. Torna all'applicazione e riprova; se il problema persiste, segnalalo all'assistenza dell'applicazione.",
		"saml.session":   "La sessione è terminata durante l'accesso. Torna all'applicazione e accedi di nuovo.",
		"logout.invalid": "La richiesta di uscita dell'applicazione non è valida. Puoi comunque uscire da cnsgate dalla pagina iniziale.",

		// The data-release page of a relying party that asks for it every
		// time (OIDC prompt=consent of the Italian profiles).
		"release.note_always": "Il servizio chiede la tua conferma a ogni accesso.",
	},
	English: {
		"app.name":         "TS-CNS login",
		"home.title":       "Log in with your health card (TS-CNS)",
		"home.intro":       "Insert your Tessera Sanitaria - Carta Nazionale dei Servizi in the reader, then press the button: your browser will ask you to choose the certificate and to type your PIN.",
		"home.button":      "Log in with TS/CNS",
		"card.title":       "Card recognised",
		"card.intro":       "This is the data read from your card.",
		"field.cf":         "Fiscal code",
		"field.name":       "Given name",
		"field.surname":    "Family name",
		"field.card":       "Card number",
		"field.cardtype":   "Card type",
		"field.region":     "Region",
		"field.roles":      "Roles",
		"release.title":    "Data the service will receive",
		"release.text":     "To complete the login, cnsgate will send this data to",
		"release.note":     "You will be asked again only if the service asks for different data.",
		"release.continue": "Continue",
		"field.issuer":     "Issuer",
		"field.expiry":     "Certificate expiry",
		"error.title":      "Login failed",
		"error.ref":        "Request reference, to quote to the help desk",
		"error.retry":      "Back to the login page",
		"error.help":       "The help desk's contacts are at the bottom of the page.",
		"error.retrycard":  "Try again",
		"cancel.invalid":   "This login request can no longer be cancelled: it has expired, already ended or was opened in another browser.",

		"nav.skip":             "Skip to the main content",
		"help.title":           "Help desk",
		"help.phone":           "Phone",
		"help.email":           "E-mail",
		"help.middleware":      "Download the card's software (middleware)",
		"help.drivers":         "Download the smart-card reader drivers",
		"footer.about":         "Access to online services with the Tessera Sanitaria - Carta Nazionale dei Servizi.",
		"footer.links":         "Legal information",
		"footer.accessibility": "Accessibility statement",
		"footer.privacy":       "Privacy",
		"footer.legal":         "Legal notes",
		"home.needs":           "You need the card and its PIN, a smart-card reader and the card's software installed on your computer.",
		"notfound.title":       "Page not found",
		"notfound.text":        "The page you are looking for does not exist or has moved. Check the address or go back to the home page.",
		"notfound.back":        "Back to the home page",
		"logout.cancel":        "Cancel",
		"login.service":        "You are logging in to",
		"login.cancel":         "Cancel and go back to the service",
		"register.notice":      "Before registering the card, read how your data is processed:",
		"register.notice.link": "privacy notice",
		"access.failed":        "Login failed",

		"field.fullname":      "Name",
		"register.title":      "Register your TS-CNS",
		"register.intro":      "Your card is valid but not registered yet. Check the data read from the card and confirm the registration.",
		"register.consent":    "I consent to the processing of the data read from the card to access the services.",
		"register.button":     "Register TS-CNS",
		"register.failed":     "Registration error",
		"register.noconsent":  "Your consent is needed to register the card.",
		"registered.title":    "Registration complete",
		"registered.text":     "Operation completed successfully.",
		"registered.continue": "Continue",
		"welcome.title":       "Welcome",
		"welcome.services":    "Active services",
		"welcome.noservices":  "No service is configured.",
		"welcome.accesses":    "Recent accesses",
		"welcome.logout":      "Log out",
		"access.when":         "Date and time",
		"access.service":      "Service",
		"access.outcome":      "Outcome",
		"access.ok":           "Logged in",
		"logout.title":        "Log out?",
		"logout.refused":      "Logout failed",
		"logout.text":         "Logging out closes your session on every service you reached with the card.",
		"loggedout.title":     "You are logged out",
		"loggedout.text":      "Your session has been closed and the connected services have been told.",
		"loggedout.advice":    "To finish, close your browser and remove the card from the reader.",
		"loggedout.again":     "Log in again",
		"unavailable.title":   "Service temporarily unavailable",
		"unavailable.text":    "The service is temporarily unavailable. Please try again in a few minutes.",
		"csrf.invalid":        "The request is not valid or has expired. Go back to the login page and try again.",
		"handoff.invalid":     "The login link has expired (it lasts 30 seconds) or has already been used. Go back to the login page and log in again.",
		"ratelimit.title":     "Too many login requests",
		"ratelimit.text":      "Too many login requests came from this address in a short time. Wait a few minutes, then go back to the application and try again.",
		"pending.toolarge":    "The login request sent by the application is too long. Go back to the application and try again; if the problem persists, tell the application's help desk.",
		"confirm.title":       "Confirm who is logging in",
		"confirm.text":        "You are about to log in as",
		"confirm.continue":    "Continue",
		"confirm.notme":       "This is not me",
		"notme.title":         "Login cancelled",
		"notme.text":          "Nobody has been logged in with the card in the reader.",
		"notme.advice":        "Remove the card from the reader and close your browser; then insert your own card and log in again.",

		"form.title":    "Back to the application",
		"form.text":     "Taking you back to the application. If nothing happens, press the button.",
		"form.noscript": "Press the button to go back to the application.",
		"form.button":   "Continue",

		"request.title":  "Invalid request",
		"oidc.request":   "The application that sent you here made an invalid login request (unregistered application or return address). Go back to the application and try again; if the problem persists, tell the application's help desk.",
		"saml.request":   "The application that sent you here made an invalid or unrecognised SAML login request. Go back to the application and try again; if the problem persists, tell the application's help desk.",
		"saml.session":   "Your session ended during the login. Go back to the application and log in again.",
		"logout.invalid": "The application's logout request is not valid. You can still log out of cnsgate from the home page.",

		// The data-release page of a relying party that asks for it every
		// time (OIDC prompt=consent of the Italian profiles).
		"release.note_always": "The service asks for your confirmation at every login.",
	},
}

// ReasonMessage returns the citizen's message for a refusal reason.
func ReasonMessage(lang Lang, reason string) string {
	if s, ok := texts[lang]["reason."+reason]; ok {
		return s
	}
	return lang.T("reason.internal_error")
}
