package web

import (
	"fmt"
	"net/http"
)

// ErrorPage is the one error page of cnsgate, whichever part refuses: a
// fixed message for the citizen, the request code to quote to the help
// desk, and a way back. It never holds a technical detail: that goes to
// the log.
type ErrorPage struct {
	// TitleKey is the text of the heading; "error.title" when empty.
	TitleKey string
	// MessageKey is the text of the message, unless Reason is set.
	MessageKey string
	// Reason is a refusal reason whose citizen's message the page shows.
	Reason    string
	RequestID string
	BackURL   string
	// BackKey is the text of the way back; "error.retry" when empty.
	BackKey string
	// CancelURL, when set, is "Annulla e torna al servizio": the pending
	// request refused to its relying party.
	CancelURL string
	// LoggedIn shows "Esci" in the header.
	LoggedIn bool
	// Args fill the %s of the message (the service's name).
	Args []any
}

// errorData is the data of error.html.
type errorData struct {
	Lang      Lang
	Title     string
	Heading   string
	Message   string
	Reason    string
	RequestID string
	BackURL   string
	BackKey   string
	CancelURL string
	LoggedIn  bool
}

// RenderError writes the error page e with status, in the request's
// language.
func (p *Pages) RenderError(w http.ResponseWriter, r *http.Request, status int, e ErrorPage) error {
	lang := LangFrom(r)
	title := lang.T("error.title")
	if e.TitleKey != "" {
		title = lang.T(e.TitleKey)
	}
	msg := lang.T(e.MessageKey)
	if len(e.Args) > 0 {
		msg = fmt.Sprintf(msg, e.Args...)
	}
	if e.Reason != "" {
		msg = ReasonMessage(lang, e.Reason)
	}
	return p.Render(w, status, "error.html", errorData{
		Lang: lang, Title: title, Heading: title, Message: msg,
		Reason: e.Reason, RequestID: e.RequestID, BackURL: e.BackURL, BackKey: e.BackKey, CancelURL: e.CancelURL, LoggedIn: e.LoggedIn,
	})
}
