package idp

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// History and reports for other systems, on the admin API:
//
//	GET /admin/audit?FILTERS&limit=N&offset=N&max_id=N&format=json|csv
//	    the matching events, newest first, with the total and the snapshot
//	    (max_id) that keeps the following pages stable while events are
//	    written: 200 {"events":[...],"total":T,"offset":O,"limit":L,
//	    "max_id":M,"next_offset":N}; as CSV the same page, with the total
//	    in X-Total-Count and max_id in X-Audit-Max-Id
//	GET /admin/audit/aggregate?FILTERS&by=outcome|reason|issuer|client&format=json|csv
//	    events per day (UTC) by the dimension: 200 {"by":D,"buckets":
//	    [{"day":"2026-12-04","reason":"revoked","count":3},...]}; logins
//	    unless kind says otherwise
//	GET /admin/history?fiscal_code=CF | card_serial=HEX[&issuer=I]&limit&offset&format
//	    every binding of the citizen or the card, oldest first, with status
//	    and dates: 200 {"registrations":[...],"total":T,...}
//
// FILTERS are those of ParseAuditSearch (auditsearch.go); a bad one is
// 400 with its reason. Each call is audited with its filter.

// Admin API actions of the reports.
const (
	AdminActionAuditSearch    = "audit_search"
	AdminActionAuditAggregate = "audit_aggregate"
	AdminActionHistory        = "history"
)

// HistoryStore is what the history of a citizen or a card needs of the
// registry; *sqlstore.DB implements it.
type HistoryStore interface {
	List(ctx context.Context, f registry.ListFilter) ([]registry.Registration, error)
}

// auditRoutes mounts the report routes when the registry can answer them.
func (a *adminAPI) auditRoutes(mux *http.ServeMux) {
	if _, ok := a.reg.(AuditStore); ok {
		mux.Handle("GET /admin/audit", a.guard(AdminActionAuditSearch, a.auditSearch))
		mux.Handle("GET /admin/audit/aggregate", a.guard(AdminActionAuditAggregate, a.auditAggregate))
	}
	if _, ok := a.reg.(HistoryStore); ok {
		mux.Handle("GET /admin/history", a.guard(AdminActionHistory, a.history))
	}
}

// searchOf parses the call's search into c, or fails c.
func (a *adminAPI) searchOf(r *http.Request, c *adminCall) (AuditSearch, bool) {
	v := r.URL.Query()
	s, err := ParseAuditSearch(v, a.s.opts.Now(), AdminAuditLimits)
	if err != nil {
		c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
		return s, false
	}
	c.fiscalCode = s.Query.FiscalCode
	c.filter = filterText(v)
	return s, true
}

// filterText is a search's parameters without the fiscal code, which the
// audit event carries in its own column.
func filterText(v url.Values) string {
	w := url.Values{}
	for k, vs := range v {
		if k != "fiscal_code" {
			w[k] = vs
		}
	}
	return w.Encode()
}

func (a *adminAPI) auditSearch(ctx context.Context, r *http.Request, c *adminCall) {
	s, ok := a.searchOf(r, c)
	if !ok {
		return
	}
	p, err := RunAuditSearch(ctx, a.reg.(AuditStore), s)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	if s.Format != AuditFormatCSV {
		c.ok(AuditPageJSON(p))
		return
	}
	var b bytes.Buffer
	if err := WriteAuditCSV(&b, p.Events); err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "csv: "+err.Error())
		return
	}
	c.okCSV(b.Bytes())
	c.headers = http.Header{"X-Total-Count": {strconv.Itoa(p.Total)}, "X-Audit-Max-Id": {strconv.FormatInt(p.MaxID, 10)}}
	if n := p.NextOffset(); n >= 0 {
		c.headers.Set("X-Next-Offset", strconv.Itoa(n))
	}
}

func (a *adminAPI) auditAggregate(ctx context.Context, r *http.Request, c *adminCall) {
	s, ok := a.searchOf(r, c)
	if !ok {
		return
	}
	if s.Query.Kind == "" && len(s.Query.Kinds) == 0 {
		s.Query.Kind = registry.KindLogin
	}
	buckets, by, err := RunAuditAggregate(ctx, a.reg.(AuditStore), s)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	if s.Format != AuditFormatCSV {
		c.ok(AuditBucketsJSON(by, buckets))
		return
	}
	var b bytes.Buffer
	if err := WriteAuditBucketsCSV(&b, by, buckets); err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "csv: "+err.Error())
		return
	}
	c.okCSV(b.Bytes())
}

func (c *adminCall) okCSV(body []byte) {
	c.status, c.result, c.answer = http.StatusOK, AdminResultSuccess, nil
	c.contentType, c.body = "text/csv; charset=utf-8", body
}

// historyParams are the parameters of /admin/history.
var historyParams = map[string]bool{"fiscal_code": true, "card_serial": true, "issuer": true, "limit": true, "offset": true, "format": true}

// HistoryQuery is a parsed history request.
type HistoryQuery struct {
	Filter registry.ListFilter
	Limit  int
	Offset int
	Format string
}

// ParseHistoryQuery reads a history request: a fiscal code, or a card
// serial (hex) with or without its issuer; limit, offset and format as for
// audit searches.
func ParseHistoryQuery(v url.Values, lim AuditLimits) (HistoryQuery, error) {
	for k, vs := range v {
		if !historyParams[k] {
			return HistoryQuery{}, fmt.Errorf("unknown parameter %q", k)
		}
		if len(vs) > 1 {
			return HistoryQuery{}, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
	}
	page := url.Values{"limit": v["limit"], "offset": v["offset"], "format": v["format"], "fiscal_code": v["fiscal_code"], "card_serial": v["card_serial"]}
	s, err := ParseAuditSearch(page, time.Time{}, lim)
	if err != nil {
		return HistoryQuery{}, err
	}
	h := HistoryQuery{Limit: s.Query.Limit, Offset: s.Query.Offset, Format: s.Format,
		Filter: registry.ListFilter{FiscalCode: s.Query.FiscalCode, Serial: s.Query.CardSerial, Issuer: strings.TrimSpace(v.Get("issuer"))}}
	switch {
	case h.Filter.FiscalCode != "" && h.Filter.Serial != "":
		return h, errors.New("give fiscal_code or card_serial, not both")
	case h.Filter.FiscalCode == "" && h.Filter.Serial == "":
		return h, errors.New("fiscal_code or card_serial is required")
	case h.Filter.Issuer != "" && h.Filter.Serial == "":
		return h, errors.New("issuer goes with card_serial")
	}
	return h, nil
}

// RunHistory returns a page of the bindings, oldest first, and their total.
func RunHistory(ctx context.Context, st HistoryStore, h HistoryQuery) ([]registry.Registration, int, error) {
	all, err := st.List(ctx, h.Filter) // one citizen's or one card's: a handful
	if err != nil {
		return nil, 0, err
	}
	total := len(all)
	lo := min(h.Offset, total)
	hi := total
	if h.Limit > 0 {
		hi = min(lo+h.Limit, total)
	}
	return all[lo:hi], total, nil
}

// RegistrationJSON is a binding as the history shows it.
func RegistrationJSON(r registry.Registration) map[string]any {
	m := map[string]any{"id": r.ID, "fiscal_code": r.FiscalCode, "issuer": r.Issuer, "card_serial": r.Serial,
		"fingerprint": r.Fingerprint, "card_type": r.CardType, "status": r.Status, "registered_at": jsonTime(r.RegisteredAt)}
	for k, t := range map[string]time.Time{"last_login_at": r.LastLoginAt, "replaced_at": r.ReplacedAt, "revoked_at": r.RevokedAt} {
		if !t.IsZero() {
			m[k] = jsonTime(t)
		}
	}
	return m
}

func jsonTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// HistoryCSVHeader is the header row of WriteHistoryCSV.
var HistoryCSVHeader = []string{"id", "fiscal_code", "issuer", "card_serial", "fingerprint", "card_type", "status", "registered_at", "last_login_at", "replaced_at", "revoked_at"}

// WriteHistoryCSV writes bindings as CSV, cells escaped as CSVCell does.
func WriteHistoryCSV(b *bytes.Buffer, regs []registry.Registration) error {
	cw := csv.NewWriter(b)
	_ = cw.Write(HistoryCSVHeader)
	for _, r := range regs {
		writeCSVRow(cw, []string{strconv.FormatInt(r.ID, 10), r.FiscalCode, r.Issuer, r.Serial, r.Fingerprint, r.CardType, string(r.Status),
			jsonTime(r.RegisteredAt), jsonTime(r.LastLoginAt), jsonTime(r.ReplacedAt), jsonTime(r.RevokedAt)})
	}
	cw.Flush()
	return cw.Error()
}

func (a *adminAPI) history(ctx context.Context, r *http.Request, c *adminCall) {
	v := r.URL.Query()
	h, err := ParseHistoryQuery(v, AdminAuditLimits)
	if err != nil {
		c.fail(http.StatusBadRequest, AdminResultBadRequest, err.Error())
		return
	}
	c.fiscalCode, c.filter = h.Filter.FiscalCode, filterText(v)
	regs, total, err := RunHistory(ctx, a.reg.(HistoryStore), h)
	if err != nil {
		c.fail(http.StatusInternalServerError, AdminResultError, "registry: "+err.Error())
		return
	}
	if h.Format == AuditFormatCSV {
		var b bytes.Buffer
		if err := WriteHistoryCSV(&b, regs); err != nil {
			c.fail(http.StatusInternalServerError, AdminResultError, "csv: "+err.Error())
			return
		}
		c.okCSV(b.Bytes())
		c.headers = http.Header{"X-Total-Count": {strconv.Itoa(total)}}
		return
	}
	out := make([]map[string]any, len(regs))
	for i, reg := range regs {
		out[i] = RegistrationJSON(reg)
	}
	ans := map[string]any{"registrations": out, "total": total, "offset": h.Offset, "limit": h.Limit}
	if n := h.Offset + len(regs); len(regs) > 0 && n < total {
		ans["next_offset"] = n
	}
	c.ok(ans)
}
