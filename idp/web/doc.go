// Package web holds cnsgate's pages: html/template files and static assets
// embedded in the binary, the Italian and English texts, and the citizen's
// message for every refusal Reason. Pages work without JavaScript; Italian
// is the default language, English is chosen by Accept-Language.
//
// It renders what it is given and decides nothing: flows live in idp.
package web
