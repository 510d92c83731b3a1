package idp

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// Searches of the audit trail, for other systems (the admin API's
// /admin/audit), the security team's console and `cnsgate audit query`:
// all three read their filters with ParseAuditSearch and run them with
// RunAuditSearch or RunAuditAggregate, so that a filter means the same
// everywhere and is refused with the same reason.

// AuditStore is what audit searches need of the registry; *sqlstore.DB
// implements it.
type AuditStore interface {
	QueryAudit(ctx context.Context, q registry.AuditQuery) ([]registry.Event, error)
	CountAudit(ctx context.Context, q registry.AuditQuery) (int, error)
	MaxAuditID(ctx context.Context) (int64, error)
	AggregateAudit(ctx context.Context, q registry.AuditQuery, by registry.AuditDimension) ([]registry.AuditBucket, error)
}

// Audit search formats.
const (
	AuditFormatJSON = "json"
	AuditFormatCSV  = "csv"
)

// AuditLimits bound a search: the page size when none is asked for, and
// the largest one may ask for (0: none, for the CLI).
type AuditLimits struct {
	DefaultLimit int
	MaxLimit     int
}

// AdminAuditLimits are the admin API's and the console's.
var AdminAuditLimits = AuditLimits{DefaultLimit: 100, MaxLimit: 1000}

// AuditSearch is a parsed search: the query, the format of the answer and,
// for aggregates, the dimension.
type AuditSearch struct {
	Query  registry.AuditQuery
	Format string
	By     registry.AuditDimension
}

// auditParams are the parameters a search accepts; each at most once.
var auditParams = map[string]bool{
	"since": true, "until": true, "fiscal_code": true, "card_serial": true, "issuer": true, "client": true,
	"outcome": true, "kind": true, "reason": true, "remote_ip": true, "limit": true, "offset": true,
	"max_id": true, "format": true, "by": true,
}

// ParseAuditSearch reads a search from query parameters, refusing with a
// precise reason anything it does not understand:
//
//	since, until  RFC 3339 time, a date (YYYY-MM-DD, UTC midnight) or a Go
//	              duration meaning that long before now; since inclusive,
//	              until exclusive
//	fiscal_code   a valid fiscal code
//	card_serial   the certificate serial in hex
//	issuer, client (the relying party), reason, kind  exact values
//	outcome       success or failure
//	remote_ip     an IP address
//	limit, offset the page (limit 1..lim.MaxLimit, default lim.DefaultLimit)
//	max_id        the snapshot of earlier pages (their answer's max_id)
//	format        json (default) or csv
//	by            outcome, reason, issuer or client (aggregates only)
func ParseAuditSearch(v url.Values, now time.Time, lim AuditLimits) (AuditSearch, error) {
	for k, vs := range v {
		if !auditParams[k] {
			return AuditSearch{}, fmt.Errorf("unknown parameter %q", k)
		}
		if len(vs) > 1 {
			return AuditSearch{}, fmt.Errorf("parameter %q given %d times", k, len(vs))
		}
	}
	s := AuditSearch{Format: AuditFormatJSON, Query: registry.AuditQuery{Limit: lim.DefaultLimit}}
	for _, step := range []func(url.Values, *AuditSearch) error{
		func(v url.Values, s *AuditSearch) error { return parseAuditTimes(v, now, &s.Query) },
		parseAuditIdentity, parseAuditValues,
		func(v url.Values, s *AuditSearch) error { return parseAuditPage(v, lim, s) },
	} {
		if err := step(v, &s); err != nil {
			return AuditSearch{}, err
		}
	}
	return s, nil
}

func parseAuditTimes(v url.Values, now time.Time, q *registry.AuditQuery) error {
	var err error
	if q.Since, err = parseAuditTime("since", v.Get("since"), now); err != nil {
		return err
	}
	if q.Until, err = parseAuditTime("until", v.Get("until"), now); err != nil {
		return err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return fmt.Errorf("since (%s) must be before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	return nil
}

// parseAuditTime reads an RFC 3339 time, a date or a duration before now.
func parseAuditTime(name, s string, now time.Time) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UTC(), nil
	}
	if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n > 0 && strings.HasSuffix(s, "d") {
		return now.AddDate(0, 0, -n).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither an RFC 3339 time, a date (YYYY-MM-DD) nor a positive duration (24h, 30d)", name, s)
}

func parseAuditIdentity(v url.Values, s *AuditSearch) error {
	q := &s.Query
	if cf := x509cns.NormalizeFiscalCode(v.Get("fiscal_code")); cf != "" {
		if err := x509cns.ValidateFiscalCode(cf); err != nil {
			return fmt.Errorf("fiscal_code: %s", maskedError(err, cf))
		}
		q.FiscalCode = cf
	}
	if sn := strings.ToLower(strings.TrimSpace(v.Get("card_serial"))); sn != "" {
		if len(sn) > 64 || strings.Trim(sn, "0123456789abcdef") != "" {
			return errors.New("card_serial: not a certificate serial in hex (at most 64 digits)")
		}
		q.CardSerial = sn
	}
	if ip := strings.TrimSpace(v.Get("remote_ip")); ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("remote_ip: %q is not an IP address", ip)
		}
		q.RemoteIP = addr.Unmap().String()
	}
	return nil
}

func parseAuditValues(v url.Values, s *AuditSearch) error {
	q := &s.Query
	switch o := registry.Outcome(v.Get("outcome")); o {
	case "", registry.OutcomeSuccess, registry.OutcomeFailure:
		q.Outcome = o
	default:
		return fmt.Errorf("outcome: %q is neither %s nor %s", o, registry.OutcomeSuccess, registry.OutcomeFailure)
	}
	for _, f := range []struct {
		name string
		dst  *string
		word bool // a fixed word of cnsgate's: lower case, digits, _ . -
	}{{"issuer", &q.Issuer, false}, {"client", &q.Client, false}, {"reason", &q.Reason, true}, {"kind", (*string)(&q.Kind), true}} {
		val := strings.TrimSpace(v.Get(f.name))
		switch {
		case len(val) > 256:
			return fmt.Errorf("%s: longer than 256 characters", f.name)
		case f.word && strings.Trim(val, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "":
			return fmt.Errorf("%s: %q is not a %s of cnsgate's (lower-case letters, digits, _ . -)", f.name, val, f.name)
		case strings.ContainsFunc(val, func(r rune) bool { return r < ' ' || r == 0x7f }):
			return fmt.Errorf("%s: control characters", f.name)
		}
		*f.dst = val
	}
	return nil
}

func parseAuditPage(v url.Values, lim AuditLimits, s *AuditSearch) error {
	q := &s.Query
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || lim.MaxLimit > 0 && n > lim.MaxLimit {
			return fmt.Errorf("limit: %q is not a number from 1 to %s", l, maxLimitText(lim))
		}
		q.Limit = n
	}
	if o := v.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			return fmt.Errorf("offset: %q is not a number from 0", o)
		}
		q.Offset = n
	}
	if m := v.Get("max_id"); m != "" {
		n, err := strconv.ParseInt(m, 10, 64)
		if err != nil || n < 1 {
			return fmt.Errorf("max_id: %q is not a positive number (the max_id of an earlier page)", m)
		}
		q.MaxID = n
	}
	return parseAuditShape(v, s)
}

// parseAuditShape reads the format of the answer and the dimension.
func parseAuditShape(v url.Values, s *AuditSearch) error {
	switch f := v.Get("format"); f {
	case "", AuditFormatJSON, AuditFormatCSV:
		if f != "" {
			s.Format = f
		}
	default:
		return fmt.Errorf("format: %q is neither json nor csv", f)
	}
	if by := registry.AuditDimension(v.Get("by")); by != "" {
		if !validDimension(by) {
			return fmt.Errorf("by: %q is not one of outcome, reason, issuer, client", by)
		}
		s.By = by
	}
	return nil
}

func maxLimitText(lim AuditLimits) string {
	if lim.MaxLimit <= 0 {
		return "any"
	}
	return strconv.Itoa(lim.MaxLimit)
}

func validDimension(by registry.AuditDimension) bool {
	for _, d := range registry.AuditDimensions {
		if d == by {
			return true
		}
	}
	return false
}

// AuditPage is one page of a search: its events, newest first, how many
// match in all, and the snapshot (max_id) the following pages keep.
type AuditPage struct {
	Events []registry.Event
	Total  int
	Offset int
	Limit  int
	MaxID  int64
}

// NextOffset is the offset of the next page, or -1 when this is the last.
func (p AuditPage) NextOffset() int {
	if n := p.Offset + len(p.Events); len(p.Events) > 0 && n < p.Total {
		return n
	}
	return -1
}

// RunAuditSearch runs a search, pinned to the snapshot of its max_id (the
// trail's newest id when none was given).
func RunAuditSearch(ctx context.Context, st AuditStore, s AuditSearch) (AuditPage, error) {
	q := s.Query
	if q.MaxID == 0 {
		id, err := st.MaxAuditID(ctx)
		if err != nil {
			return AuditPage{}, err
		}
		if q.MaxID = id; id == 0 {
			return AuditPage{Events: []registry.Event{}, Offset: q.Offset, Limit: q.Limit}, nil
		}
	}
	total, err := st.CountAudit(ctx, q)
	if err != nil {
		return AuditPage{}, err
	}
	events, err := st.QueryAudit(ctx, q)
	if err != nil {
		return AuditPage{}, err
	}
	if events == nil {
		events = []registry.Event{}
	}
	return AuditPage{Events: events, Total: total, Offset: q.Offset, Limit: q.Limit, MaxID: q.MaxID}, nil
}

// RunAuditAggregate counts the search's events per day by its dimension
// (outcome when none was given).
func RunAuditAggregate(ctx context.Context, st AuditStore, s AuditSearch) ([]registry.AuditBucket, registry.AuditDimension, error) {
	by := s.By
	if by == "" {
		by = registry.ByOutcome
	}
	b, err := st.AggregateAudit(ctx, s.Query, by)
	return b, by, err
}

// AuditEventJSON is an event as investigators and other systems read it:
// the full fiscal code, names in snake_case, empty fields left out.
func AuditEventJSON(e registry.Event) map[string]any {
	m := map[string]any{"id": e.ID, "at": e.At.UTC().Format(time.RFC3339Nano), "kind": e.Kind, "outcome": e.Outcome}
	for k, v := range map[string]string{"reason": e.Reason, "fiscal_code": e.FiscalCode, "client": e.Client,
		"session": e.SessionHash, "card_serial": e.CardSerial, "issuer": e.Issuer, "remote_ip": e.RemoteIP, "request_id": e.RequestID} {
		if v != "" {
			m[k] = v
		}
	}
	if len(e.Detail) > 0 {
		m["detail"] = e.Detail
	}
	return m
}

// AuditPageJSON is a page as the admin API answers it.
func AuditPageJSON(p AuditPage) map[string]any {
	events := make([]map[string]any, len(p.Events))
	for i, e := range p.Events {
		events[i] = AuditEventJSON(e)
	}
	out := map[string]any{"events": events, "total": p.Total, "offset": p.Offset, "limit": p.Limit, "max_id": p.MaxID}
	if n := p.NextOffset(); n >= 0 {
		out["next_offset"] = n
	}
	return out
}

// AuditBucketsJSON is an aggregate as the admin API answers it.
func AuditBucketsJSON(by registry.AuditDimension, buckets []registry.AuditBucket) map[string]any {
	rows := make([]map[string]any, len(buckets))
	for i, b := range buckets {
		rows[i] = map[string]any{"day": b.Day, string(by): b.Value, "count": b.Count}
	}
	return map[string]any{"by": by, "buckets": rows}
}

// AuditCSVHeader is the header row of WriteAuditCSV.
var AuditCSVHeader = []string{"id", "at", "kind", "outcome", "reason", "fiscal_code", "client", "session", "card_serial", "issuer", "remote_ip", "request_id", "detail"}

// WriteAuditCSV writes the events as CSV (RFC 4180, comma-separated) under
// AuditCSVHeader, every cell escaped against formula injection (CSVCell).
func WriteAuditCSV(w io.Writer, events []registry.Event) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(AuditCSVHeader)
	for _, e := range events {
		row := []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), string(e.Kind), string(e.Outcome),
			e.Reason, e.FiscalCode, e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP, e.RequestID, string(e.Detail)}
		writeCSVRow(cw, row)
	}
	cw.Flush()
	return cw.Error()
}

// WriteAuditBucketsCSV writes an aggregate as CSV: day, the dimension, count.
func WriteAuditBucketsCSV(w io.Writer, by registry.AuditDimension, buckets []registry.AuditBucket) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"day", string(by), "count"})
	for _, b := range buckets {
		writeCSVRow(cw, []string{b.Day, b.Value, strconv.Itoa(b.Count)})
	}
	cw.Flush()
	return cw.Error()
}

func writeCSVRow(cw *csv.Writer, row []string) {
	for i, c := range row {
		row[i] = CSVCell(c)
	}
	_ = cw.Write(row)
}

// CSVCell escapes a cell against formula injection (OWASP): a value that a
// spreadsheet would read as a formula (starting with = + - @, a tab or a
// carriage return) is prefixed with a single quote, so it shows as text.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
