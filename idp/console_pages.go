package idp

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
)

// The console's pages: logins as charts, the state of revocation, the
// audit search with its CSV export.

type consoleDashboard struct {
	consolePage
	Charts []web.Chart
}

// dashboard is GET /: logins of the last 24 hours by outcome and reason,
// of the last 30 days by day and outcome, refusals by issuer and service.
func (c *console) dashboard(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	lang := web.LangFrom(r)
	now := c.s.opts.Now().UTC()
	day := registry.AuditQuery{Kind: registry.KindLogin, Since: now.Add(-24 * time.Hour)}
	month := registry.AuditQuery{Kind: registry.KindLogin, Since: now.AddDate(0, 0, -30)}
	monthFail := month
	monthFail.Outcome = registry.OutcomeFailure
	dayFail := day
	dayFail.Outcome = registry.OutcomeFailure
	outcomes := []string{lang.T("console.outcome.success"), lang.T("console.outcome.failure")}
	specs := []struct {
		id, title string
		q         registry.AuditQuery
		by        registry.AuditDimension
		perDay    bool
	}{
		{"c24o", "console.chart.24h.outcome", day, registry.ByOutcome, false},
		{"c24r", "console.chart.24h.reason", dayFail, registry.ByReason, false},
		{"c30d", "console.chart.30d", month, registry.ByOutcome, true},
		{"c30i", "console.chart.issuer", monthFail, registry.ByIssuer, false},
		{"c30c", "console.chart.client", monthFail, registry.ByClient, false},
	}
	p := consoleDashboard{consolePage: c.page(r, sess, "console.dashboard.title", "dashboard")}
	for _, sp := range specs {
		buckets, err := c.o.Store.AggregateAudit(r.Context(), sp.q, sp.by)
		if err != nil {
			c.s.unavailable(w, r, "registry", err)
			return
		}
		ch := web.Chart{ID: sp.id, Title: lang.T(sp.title), Series: []string{lang.T("console.col.count")}}
		switch {
		case sp.perDay:
			ch.Series, ch.Rows = outcomes, perDayRows(buckets)
		case sp.by == registry.ByOutcome:
			ch.Rows = totals(buckets, func(v string) string { return lang.T("console.outcome." + v) }, lang)
		default:
			ch.Rows = totals(buckets, func(v string) string { return v }, lang)
		}
		p.Charts = append(p.Charts, ch)
	}
	c.render(w, r, http.StatusOK, "console_dashboard.html", p)
}

// totals sums the buckets of every day by value, largest first.
func totals(buckets []registry.AuditBucket, label func(string) string, lang web.Lang) []web.ChartRow {
	sum := map[string]int{}
	for _, b := range buckets {
		sum[b.Value] += b.Count
	}
	rows := make([]web.ChartRow, 0, len(sum))
	for v, n := range sum {
		l := label(v)
		if v == "" {
			l = lang.T("console.none")
		}
		rows = append(rows, web.ChartRow{Label: l, Values: []int{n}})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Values[0] != rows[j].Values[0] {
			return rows[i].Values[0] > rows[j].Values[0]
		}
		return rows[i].Label < rows[j].Label
	})
	return rows
}

// perDayRows is one row per day with successes and failures.
func perDayRows(buckets []registry.AuditBucket) []web.ChartRow {
	var rows []web.ChartRow
	for _, b := range buckets {
		if len(rows) == 0 || rows[len(rows)-1].Label != b.Day {
			rows = append(rows, web.ChartRow{Label: b.Day, Values: []int{0, 0}})
		}
		i := 0
		if b.Value == string(registry.OutcomeFailure) {
			i = 1
		}
		rows[len(rows)-1].Values[i] += b.Count
	}
	return rows
}

type consoleCRL struct {
	CRLStatus
	Age, Next string
}

type consoleOCSP struct {
	OCSPStatus
	Last string
}

type consoleRevocation struct {
	consolePage
	RevocationOn bool
	CRLs         []consoleCRL
	OCSP         []consoleOCSP
}

// revocation is GET /revocation: each CA's CRL and each OCSP responder.
func (c *console) revocation(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	p := consoleRevocation{consolePage: c.page(r, sess, "console.revocation.title", "revocation")}
	if rs := c.o.Revocation; rs != nil {
		p.RevocationOn = true
		loc := c.s.pages.Site().Location
		if loc == nil {
			loc = time.UTC
		}
		for _, s := range rs.CRLStatus() {
			cr := consoleCRL{CRLStatus: s, Age: (time.Duration(s.AgeSeconds) * time.Second).Round(time.Second).String()}
			if !s.NextUpdate.IsZero() {
				cr.Next = s.NextUpdate.In(loc).Format("02/01/2006 15:04")
			}
			p.CRLs = append(p.CRLs, cr)
		}
		for _, s := range rs.OCSPStatus() {
			o := consoleOCSP{OCSPStatus: s}
			if !s.LastAnswer.IsZero() {
				o.Last = s.LastAnswer.In(loc).Format("02/01/2006 15:04:05")
			}
			p.OCSP = append(p.OCSP, o)
		}
	}
	c.render(w, r, http.StatusOK, "console_revocation.html", p)
}

// consoleField is one filter of the audit search form.
type consoleField struct {
	Name, Value string
	Options     []string
}

type consoleAudit struct {
	consolePage
	Fields    []consoleField
	Searched  bool
	Total     int
	Events    []registry.Event
	ExportURL string
	NextURL   string
}

var consoleFilters = []string{"since", "until", "fiscal_code", "card_serial", "client", "outcome", "reason", "remote_ip", "issuer", "kind"}

// searchValues are the audit filters of the request, without the empty
// ones and the language.
func searchValues(r *http.Request) url.Values {
	v := url.Values{}
	for k, vs := range r.URL.Query() {
		if k != "lang" && len(vs) > 0 && vs[0] != "" {
			v[k] = vs
		}
	}
	return v
}

// audit is GET /audit: the search form and, with filters, a page of events.
func (c *console) audit(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	v := searchValues(r)
	p := consoleAudit{consolePage: c.page(r, sess, "console.audit.title", "audit")}
	for _, f := range consoleFilters {
		fl := consoleField{Name: f, Value: v.Get(f)}
		if f == "outcome" {
			fl.Options = []string{string(registry.OutcomeSuccess), string(registry.OutcomeFailure)}
		}
		p.Fields = append(p.Fields, fl)
	}
	if len(v) == 0 {
		c.render(w, r, http.StatusOK, "console_audit.html", p)
		return
	}
	s, err := ParseAuditSearch(v, c.s.opts.Now(), AdminAuditLimits)
	if err != nil {
		c.act(r, sess, "search", registry.OutcomeFailure, "", map[string]any{"filter": filterText(v), "problem": err.Error()})
		p.Error = fmt.Sprintf(web.LangFrom(r).T("console.audit.error"), maskedError(err, v.Get("fiscal_code")))
		c.render(w, r, http.StatusBadRequest, "console_audit.html", p)
		return
	}
	page, err := RunAuditSearch(r.Context(), c.o.Store, s)
	if err != nil {
		c.s.unavailable(w, r, "registry", err)
		return
	}
	c.act(r, sess, "search", registry.OutcomeSuccess, s.Query.FiscalCode, map[string]any{"filter": filterText(v), "total": page.Total})
	p.Searched, p.Total, p.Events = true, page.Total, page.Events
	ex := url.Values{}
	for k, vs := range v {
		if k != "offset" && k != "limit" && k != "max_id" {
			ex[k] = vs
		}
	}
	p.ExportURL = "/audit.csv?" + ex.Encode()
	if n := page.NextOffset(); n >= 0 {
		nx := url.Values{}
		for k, vs := range v {
			nx[k] = vs
		}
		nx.Set("offset", strconv.Itoa(n))
		nx.Set("max_id", strconv.FormatInt(page.MaxID, 10))
		nx.Set("lang", string(p.Lang))
		p.NextURL = "/audit?" + nx.Encode()
	}
	c.render(w, r, http.StatusOK, "console_audit.html", p)
}

// auditCSV is GET /audit.csv: the search's events (up to the API's page
// limit) as CSV, escaped against formula injection.
func (c *console) auditCSV(w http.ResponseWriter, r *http.Request, sess *consoleSession) {
	v := searchValues(r)
	if v.Get("limit") == "" {
		v.Set("limit", strconv.Itoa(AdminAuditLimits.MaxLimit))
	}
	s, err := ParseAuditSearch(v, c.s.opts.Now(), AdminAuditLimits)
	if err != nil {
		c.act(r, sess, "export", registry.OutcomeFailure, "", map[string]any{"filter": filterText(v), "problem": err.Error()})
		http.Error(w, maskedError(err, v.Get("fiscal_code")), http.StatusBadRequest)
		return
	}
	page, err := RunAuditSearch(r.Context(), c.o.Store, s)
	var b bytes.Buffer
	if err == nil {
		err = WriteAuditCSV(&b, page.Events)
	}
	if err != nil {
		c.s.unavailable(w, r, "registry", err)
		return
	}
	c.act(r, sess, "export", registry.OutcomeSuccess, s.Query.FiscalCode, map[string]any{"filter": filterText(v), "rows": len(page.Events)})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cnsgate-audit.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b.Bytes())
}
