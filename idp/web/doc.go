// Package web holds cnsgate's pages: html/template files and static assets
// embedded in the binary, the Italian and English texts, and the citizen's
// message for every refusal Reason. Pages work without JavaScript; Italian
// is the default language, English is chosen by the language a relying
// party asked for (WithLang: OIDC ui_locales) or else by Accept-Language.
//
// The pages are built on Bootstrap Italia, the UI kit of Italian
// public-administration services: its stylesheet and the Titillium Web
// fonts are vendored into static/ by scripts/web-assets.sh (make
// web-assets), which records their versions and licences in
// static/VERSIONS; no script of it is shipped. Every page has the header
// and footer of a Site (the administration's name and logo, "Esci" once
// logged in, the footer's links and the help desk).
//
// It renders what it is given and decides nothing: flows live in idp and
// the protocol packages, which all show their errors with RenderError and
// answer with auto-submitting forms through RenderForm; no other package
// of the gateway writes HTML.
//
// # Files
//
//	doc.go         this map
//	web.go         Pages, New and NewSite (every required template checked), Render, Static, Lang, WithLang, LangOf, LocalesLang and LangFrom, DisplayName
//	framed.go      RenderFramed: a page rendered once per language and relying party with markers, each request's values escaped and spliced in (the card login page)
//	site.go        Site (Brand, Links, Help, time zone): the header and footer; Pages.Static with the logo
//	texts.go       the pages' sentences in Italian and English, ReasonMessage
//	texts_reasons.go  the citizen's message for every refusal reason
//	texts_account.go "La mia tessera": cards, consent and its withdrawal, the access history; the consent version, the superseded card
//	texts_access.go the refusal of a service the person may not use ("Accesso non consentito"), the card types' names
//	texts_console.go the security team's console, in Italian and English
//	chart.go       Chart: the console's bar charts laid out for inline SVG (console_parts.html), with their data table
//	errorpage.go   ErrorPage, RenderError: the one error page
//	autosubmit.go  Form, RenderForm: the one auto-submit form (OIDC form_post, SAML POST binding)
//	info.go        InfoPage, RenderInfo: the demo's plain footer pages (privacy notice, accessibility statement, legal notes)
//	texts_info.go  the texts of those footer pages
//	templates/     the pages, embedded
//	static/        cnsgate.css, Bootstrap Italia's stylesheet, the Titillium Web fonts, VERSIONS, LICENSES/; embedded
package web
