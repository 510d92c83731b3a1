package sqlstore

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// LineError is one bad row of an allowlist CSV.
type LineError struct {
	Line int // 1-based line number in the file
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// CSVError reports every bad row of an allowlist CSV at once.
type CSVError struct{ Lines []*LineError }

// sniffSize is how much of the file the separator detection reads.
const sniffSize = 64 << 10

// maxReported bounds the rows Error spells out; Lines keeps them all.
const maxReported = 50

func (e *CSVError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "allowlist CSV: %d bad row(s)", len(e.Lines))
	for i, l := range e.Lines {
		if i == maxReported {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Lines)-maxReported)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(l.Error())
	}
	return b.String()
}

// Unwrap exposes the row errors to errors.Is and errors.As.
func (e *CSVError) Unwrap() []error {
	errs := make([]error, len(e.Lines))
	for i, l := range e.Lines {
		errs[i] = l
	}
	return errs
}

// csvColumns maps header names (lower-case, Italian spreadsheet names
// included) to registry.Eligible fields.
var csvColumns = map[string]string{
	"fiscal_code": "fiscal_code", "codice_fiscale": "fiscal_code", "codice fiscale": "fiscal_code", "cf": "fiscal_code",
	"given_name": "given_name", "nome": "given_name",
	"family_name": "family_name", "cognome": "family_name",
	"note": "note", "notes": "note",
}

// defaultColumns is the column order of a file without a header row.
var defaultColumns = []string{"fiscal_code", "given_name", "family_name", "note"}

// ParseEligibleCSV reads an allowlist: one citizen per row, columns
// fiscal_code[,given_name,family_name,note]. A header row naming those
// columns (any case, any order) is optional. The separator is ';' when the
// first row holds one, as Italian spreadsheets export, else ','. A UTF-8 BOM
// and blank rows are ignored. Fiscal codes are normalised and validated.
// Every bad row is reported in one *CSVError, with its line number; a file
// without rows is an error too, so that a replace-all import of an empty
// file never wipes the allowlist.
func ParseEligibleCSV(r io.Reader) ([]registry.Eligible, error) {
	out, bad, err := ReadEligibleCSV(r)
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	return out, nil
}

// ReadEligibleCSV reads an allowlist as ParseEligibleCSV does but keeps
// the good rows when some are bad: it returns them with a *CSVError listing
// the bad ones (nil when none is). It is how cnsgate serve reads
// registration.allowlist_file, where one mistyped row must not shut every
// other citizen out. err is for a file that cannot be read as CSV at all,
// or that has no row.
func ReadEligibleCSV(r io.Reader) (good []registry.Eligible, bad *CSVError, err error) {
	br := bufio.NewReaderSize(r, sniffSize)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	sep, err := detectSeparator(br)
	if err != nil {
		return nil, nil, fmt.Errorf("allowlist CSV: %w", err)
	}
	cr := csv.NewReader(br)
	cr.Comma = sep
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	p := &csvParser{sep: sep, seen: map[string]int{}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("allowlist CSV: %w", err)
			}
			p.problems = append(p.problems, &LineError{Line: pe.StartLine, Err: pe.Err})
			continue
		}
		line, _ := cr.FieldPos(0)
		p.row(line, rec)
	}
	if len(p.problems) > 0 {
		bad = &CSVError{Lines: p.problems}
	}
	if len(p.out) == 0 && bad == nil {
		return nil, nil, errors.New("allowlist CSV: no rows")
	}
	return p.out, bad, nil
}

// csvParser is the state of one ParseEligibleCSV: the columns (from the
// header row or the default order), the rows read, and the bad ones.
type csvParser struct {
	sep      rune
	columns  []string
	seen     map[string]int // fiscal code -> line of its first row
	out      []registry.Eligible
	problems []*LineError
}

func (p *csvParser) bad(line int, format string, args ...any) {
	p.problems = append(p.problems, &LineError{Line: line, Err: fmt.Errorf(format, args...)})
}

// row takes one record: the header (the first non-blank row, when it names
// the fiscal-code column) or a citizen.
func (p *csvParser) row(line int, rec []string) {
	if blank(rec) {
		return
	}
	if p.columns == nil {
		if cols, ok, err := header(rec); ok {
			if err != nil {
				p.bad(line, "%v", err)
			}
			p.columns = cols
			return
		}
		p.columns = defaultColumns
	}
	if n := len(trimEmptyTail(rec)); n > len(p.columns) {
		p.bad(line, "%d fields, want at most %d (%s)", n, len(p.columns), strings.Join(p.columns, string(p.sep)))
		return
	}
	e := p.eligible(rec)
	if e.FiscalCode == "" {
		p.bad(line, "fiscal code missing")
		return
	}
	if err := x509cns.ValidateFiscalCode(e.FiscalCode); err != nil {
		p.bad(line, "fiscal code %s: %w", x509cns.MaskFiscalCode(e.FiscalCode), err)
		return
	}
	if prev, dup := p.seen[e.FiscalCode]; dup {
		p.bad(line, "fiscal code %s: %w (line %d)", x509cns.MaskFiscalCode(e.FiscalCode), registry.ErrDuplicate, prev)
		return
	}
	p.seen[e.FiscalCode] = line
	p.out = append(p.out, e)
}

// eligible maps a record's fields onto the columns.
func (p *csvParser) eligible(rec []string) registry.Eligible {
	var e registry.Eligible
	for i, v := range rec[:min(len(rec), len(p.columns))] {
		v = strings.TrimSpace(v)
		switch p.columns[i] {
		case "fiscal_code":
			e.FiscalCode = x509cns.NormalizeFiscalCode(v)
		case "given_name":
			e.GivenName = v
		case "family_name":
			e.FamilyName = v
		case "note":
			e.Note = v
		}
	}
	return e
}

// detectSeparator looks at the first non-blank line (within the first
// 64 KiB) without consuming it: ';' if it holds one, else ','.
func detectSeparator(br *bufio.Reader) (rune, error) {
	b, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if bytes.IndexByte(l, ';') >= 0 {
			return ';', nil
		}
		return ',', nil
	}
	return ',', nil
}

// header reports whether rec is a header row (a field names the
// fiscal-code column) and, if so, the columns it names.
func header(rec []string) (cols []string, ok bool, err error) {
	for _, h := range rec {
		if csvColumns[strings.ToLower(strings.TrimSpace(h))] == "fiscal_code" {
			ok = true
		}
	}
	if !ok {
		return nil, false, nil
	}
	rec = trimEmptyTail(rec)
	cols = make([]string, len(rec))
	var problems []string
	seen := map[string]bool{}
	for i, h := range rec {
		c, known := csvColumns[strings.ToLower(strings.TrimSpace(h))]
		switch {
		case !known:
			problems = append(problems, fmt.Sprintf("unknown column %q", h))
		case seen[c]:
			problems = append(problems, fmt.Sprintf("column %q repeated", h))
		}
		seen[c] = true
		cols[i] = c
	}
	if len(problems) > 0 {
		return cols, true, fmt.Errorf("header: %s (want fiscal_code, given_name, family_name, note)", strings.Join(problems, "; "))
	}
	return cols, true, nil
}

// blank reports whether every field of rec is empty or white space, as in
// the ";;;" rows spreadsheets export.
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// trimEmptyTail drops trailing empty fields ("CF;;;" from a spreadsheet).
func trimEmptyTail(rec []string) []string {
	for len(rec) > 0 && strings.TrimSpace(rec[len(rec)-1]) == "" {
		rec = rec[:len(rec)-1]
	}
	return rec
}
