package web

import "net/http"

// InfoPage is a plain page of the demo's footer (privacy notice,
// accessibility statement, legal notes): a heading and a sentence, marked
// as a demonstration, with no header, footer or stylesheet (the demo
// serves it on its admin listener, beside its CRLs). The keys name texts
// of texts_info.go.
type InfoPage struct {
	TitleKey, TextKey string
}

// infoData is the data of info.html.
type infoData struct {
	Lang        Lang
	Title, Text string
}

// RenderInfo writes the page e with status 200, in the request's
// language.
func (p *Pages) RenderInfo(w http.ResponseWriter, r *http.Request, e InfoPage) error {
	lang := LangFrom(r)
	return p.Render(w, http.StatusOK, "info.html", infoData{Lang: lang, Title: lang.T(e.TitleKey), Text: lang.T(e.TextKey)})
}
