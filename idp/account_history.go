package idp

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The citizen's own access history on "La mia tessera": their audit events
// of the kinds historyKinds, newest first, historyPageSize a page, and the
// same as CSV (at most maxHistoryCSV rows).

const (
	historyPageSize = 20
	maxHistoryPage  = 500
	maxHistoryCSV   = 10000
)

// historyKinds are the events of the history.
var historyKinds = []registry.EventKind{
	registry.KindLogin, registry.KindTokenIssued, registry.KindAccessDenied,
	registry.KindRegistration, registry.KindConsentWithdrawn, registry.KindCardRemoved,
}

// historyQuery selects a citizen's history: the visit of a card before it
// was registered is no access of the citizen and is left out.
func historyQuery(fiscalCode string, limit, offset int) registry.AuditQuery {
	return registry.AuditQuery{FiscalCode: fiscalCode, Kinds: historyKinds, Limit: limit, Offset: offset,
		SkipFailureReason: string(x509cns.ReasonNotRegistered)}
}

// historyPage is the page number of the request (?page=N), 1 when absent
// or out of range.
func historyPage(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 || n > maxHistoryPage {
		return 1
	}
	return n
}

// historyPageOf fills v's history with its page, and the links around it.
func (s *Service) historyPageOf(r *http.Request, sess *sessions.Session, v *accountView) error {
	events, err := s.registry.QueryAudit(r.Context(), historyQuery(sess.FiscalCode, historyPageSize+1, (v.PageNo-1)*historyPageSize))
	if err != nil {
		return err
	}
	if len(events) > historyPageSize {
		events = events[:historyPageSize]
		if v.PageNo < maxHistoryPage {
			v.NextURL = PathAccount + "?page=" + strconv.Itoa(v.PageNo+1) + "#history"
		}
	}
	if v.PageNo > 1 {
		v.PrevURL = PathAccount + "?page=" + strconv.Itoa(v.PageNo-1) + "#history"
	}
	v.History = historyFrom(web.LangFrom(r), events, s.opts.RelyingParties)
	return nil
}

// historyFrom turns audit events into lines of the history: what happened,
// at which service (a relying party named as configured, else cnsgate
// itself), and its outcome.
func historyFrom(lang web.Lang, events []registry.Event, services []ServiceLink) []access {
	names := map[string]string{}
	for _, l := range services {
		names[l.ID] = l.Name
	}
	out := make([]access, 0, len(events))
	for _, e := range events {
		svc := lang.T("app.name")
		if e.Client != "" {
			svc = cmp.Or(names[e.Client], e.Client)
		}
		a := access{At: e.At, Service: svc, Event: lang.T("history.kind." + string(e.Kind)), Outcome: lang.T("history.ok")}
		if e.Outcome != registry.OutcomeSuccess {
			a.Outcome = lang.T("history.failed")
			if e.Reason != "" {
				a.Detail = web.ReasonMessage(lang, e.Reason)
			}
		}
		out = append(out, a)
	}
	return out
}

// historyCSV is the download of the citizen's history: one line per event,
// times in the pages' time zone, every cell a formula could start with
// neutralised (csvCell).
func (s *Service) historyCSV(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.accountSession(w, r)
	if !ok {
		return
	}
	events, err := s.registry.QueryAudit(r.Context(), historyQuery(sess.FiscalCode, maxHistoryCSV, 0))
	if err != nil {
		s.unavailable(w, r, "registry", err)
		return
	}
	lang := web.LangFrom(r)
	s.countAccount(AccountActionHistoryCSV)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+lang.T("history.csv.filename")+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{lang.T("access.when"), lang.T("access.service"), lang.T("history.event"), lang.T("access.outcome"), lang.T("history.detail")})
	for _, a := range historyFrom(lang, events, s.opts.RelyingParties) {
		_ = cw.Write([]string{s.pages.Local(a.At).Format(time.RFC3339), csvCell(a.Service), csvCell(a.Event), csvCell(a.Outcome), csvCell(a.Detail)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.logger.WarnContext(r.Context(), "history CSV not sent in full", "err", err)
	}
}

// csvCell neutralises a cell a spreadsheet would read as a formula (one
// starting with = + - @, a tab or a carriage return, OWASP's CSV
// injection): it is prefixed with an apostrophe, shown as text.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
