package auditsyslog

import (
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// Severities (RFC 5424 §6.2.1): successes are informational, failures
// notices.
const (
	severityNotice = 5
	severityInfo   = 6
)

// sdID names the structured data element of an event: the private
// enterprise number 32473 is the one RFC 5612 reserves for documentation;
// a deployment that has its own can map it in the SIEM.
const sdID = "cnsgate@32473"

// nilValue is RFC 5424's NILVALUE.
const nilValue = "-"

// message is the RFC 5424 message of e: PRI, version 1, the time in UTC
// to the microsecond, host, app name, process id, the kind as MSGID, the
// event's fields as structured data, no MSG. The fiscal code is masked
// unless reveal.
func message(e registry.Event, facility int, host, app string, pid int, reveal bool) string {
	sev := severityInfo
	if e.Outcome != registry.OutcomeSuccess {
		sev = severityNotice
	}
	var b strings.Builder
	b.WriteString("<" + strconv.Itoa(facility*8+sev) + ">1 ")
	b.WriteString(e.At.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000Z") + " ")
	b.WriteString(header(host, 255) + " " + header(app, 48) + " " + strconv.Itoa(pid) + " " + header(string(e.Kind), 32) + " ")
	b.WriteString("[" + sdID)
	fc := e.FiscalCode
	if fc != "" && !reveal {
		fc = x509cns.MaskFiscalCode(fc)
	}
	for _, p := range [][2]string{{"kind", string(e.Kind)}, {"outcome", string(e.Outcome)}, {"reason", e.Reason},
		{"fiscal_code", fc}, {"client", e.Client}, {"session_hash", e.SessionHash}, {"card_serial", e.CardSerial},
		{"issuer", e.Issuer}, {"remote_ip", e.RemoteIP}, {"request_id", e.RequestID}, {"detail", string(e.Detail)}} {
		if p[1] != "" {
			b.WriteString(" " + p[0] + "=\"" + paramValue(p[1]) + "\"")
		}
	}
	b.WriteString("]")
	return b.String()
}

// header is a header field of at most max printable US-ASCII characters
// without spaces (RFC 5424 §6.2), others replaced by '_'; empty: NILVALUE.
func header(s string, max int) string {
	if s == "" {
		return nilValue
	}
	out := []byte(s)
	if len(out) > max {
		out = out[:max]
	}
	for i, c := range out {
		if c < 33 || c > 126 {
			out[i] = '_'
		}
	}
	return string(out)
}

// paramValue escapes '"', '\' and ']' (RFC 5424 §6.3.3); the value is
// UTF-8 as given.
func paramValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(strings.ToValidUTF8(s, "\uFFFD"))
}

// frame is msg with its octet count (RFC 6587 §3.4.1).
func frame(msg string) []byte {
	return []byte(strconv.Itoa(len(msg)) + " " + msg)
}
