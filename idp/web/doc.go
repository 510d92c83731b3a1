// Package web holds cnsgate's pages: html/template files and static assets
// embedded in the binary, the Italian and English texts, and the citizen's
// message for every refusal Reason. Pages work without JavaScript; Italian
// is the default language, English is chosen by Accept-Language.
//
// It renders what it is given and decides nothing: flows live in idp and
// the protocol packages, which all show their errors with RenderError and
// answer with auto-submitting forms through RenderForm; no other package
// of the gateway writes HTML.
//
// # Files
//
//	doc.go         this map
//	web.go         Pages, New (every required template checked), Render, Static, Lang and LangFrom, DisplayName
//	texts.go       every sentence in Italian and English, ReasonMessage
//	texts_access.go the refusal of a service the person may not use ("Accesso non consentito"), the card types' names
//	errorpage.go   ErrorPage, RenderError: the one error page
//	autosubmit.go  Form, RenderForm: the one auto-submit form (OIDC form_post, SAML POST binding)
//	templates/     the pages, embedded
//	static/        the stylesheet, embedded
package web
