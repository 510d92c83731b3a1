package revocation

import (
	"bytes"
	"encoding/asn1"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseEntries reads revokedCertificates into a serialTable. A first pass
// counts the entries and finds the widest serial so that the arrays are
// allocated once at their final size; the second pass checks each entry as
// crypto/x509 does (minimal INTEGER serial, UTCTime or GeneralizedTime,
// well-formed extensions, reasonCode an ENUMERATED) and fills the table;
// then the hash index is built.
func parseEntries(revoked cryptobyte.String) (*serialTable, error) {
	n, width := countEntries(revoked)
	t := newSerialTable(n, width)
	for i := 0; !revoked.Empty(); i++ {
		var entry, serial cryptobyte.String
		if !revoked.ReadASN1(&entry, cbasn1.SEQUENCE) {
			return nil, malformed("CRL entry %d", i)
		}
		if !entry.ReadASN1(&serial, cbasn1.INTEGER) || !minimalInteger(serial) {
			return nil, malformed("serial number of CRL entry %d", i)
		}
		when, ok := readTime(&entry)
		if !ok {
			return nil, malformed("revocation date of CRL entry %d", i)
		}
		var exts cryptobyte.String
		var present bool
		if !entry.ReadOptionalASN1(&exts, &present, cbasn1.SEQUENCE) {
			return nil, malformed("extensions of CRL entry %d", i)
		}
		reason := 0
		if present {
			var err error
			if reason, err = entryReason(exts, i); err != nil {
				return nil, err
			}
		}
		if i >= n || len(serial) > width { // cannot happen: the count pass read the same bytes
			return nil, malformed("CRL entry %d", i)
		}
		t.set(i, serial, when, uint8(reason))
	}
	t.buildIndex()
	return t, nil
}

// countEntries returns how many entries parse as SEQUENCE { INTEGER ... }
// up to the first that does not, and the longest serial among them.
func countEntries(revoked cryptobyte.String) (n, width int) {
	for !revoked.Empty() {
		var entry, serial cryptobyte.String
		if !revoked.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1(&serial, cbasn1.INTEGER) {
			break
		}
		n++
		width = max(width, len(serial))
	}
	return n, width
}

// minimalInteger applies cryptobyte's rule for INTEGER contents: not
// empty, and no redundant leading 0x00 or 0xff byte.
func minimalInteger(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if len(b) > 1 && (b[0] == 0 && b[1]&0x80 == 0 || b[0] == 0xff && b[1]&0x80 == 0x80) {
		return false
	}
	return true
}

// entryReason walks the extensions of one entry and returns its reason
// code. Unknown non-critical extensions (invalidityDate, ...) are ignored.
func entryReason(exts cryptobyte.String, i int) (int, error) {
	reason := 0
	for !exts.Empty() {
		e, err := readEntryExt(&exts, i)
		if err != nil {
			return 0, err
		}
		switch {
		case bytes.Equal(e.oid, derReasonCode):
			if reason, err = readReasonCode(e.val, i); err != nil {
				return 0, err
			}
		case bytes.Equal(e.oid, derCertificateIssuer):
			return 0, unsupported("indirect CRL (certificateIssuer in entry %d)", i)
		case e.critical && !e.known:
			return 0, unsupported("unknown critical extension in CRL entry %d", i)
		}
	}
	return reason, nil
}

// entryExt is one extension of a CRL entry.
type entryExt struct {
	oid, val        cryptobyte.String
	known, critical bool
}

// readEntryExt reads the next extension of CRL entry i from exts.
func readEntryExt(exts *cryptobyte.String, i int) (entryExt, error) {
	var e entryExt
	var ext cryptobyte.String
	if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1Element(&e.oid, cbasn1.OBJECT_IDENTIFIER) {
		return e, malformed("extension of CRL entry %d", i)
	}
	e.known = bytes.Equal(e.oid, derReasonCode) || bytes.Equal(e.oid, derInvalidityDate) || bytes.Equal(e.oid, derCertificateIssuer)
	if !e.known {
		var id asn1.ObjectIdentifier
		if c := e.oid; !c.ReadASN1ObjectIdentifier(&id) {
			return e, malformed("extension OID of CRL entry %d", i)
		}
	}
	if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&e.critical) {
		return e, malformed("extension of CRL entry %d", i)
	}
	if !ext.ReadASN1(&e.val, cbasn1.OCTET_STRING) {
		return e, malformed("extension of CRL entry %d", i)
	}
	return e, nil
}

// readReasonCode reads the reasonCode of CRL entry i.
func readReasonCode(val cryptobyte.String, i int) (int, error) {
	var reason int
	if !val.ReadASN1Enum(&reason) {
		return 0, malformed("reasonCode of CRL entry %d", i)
	}
	if reason < 0 || reason > 255 {
		return 0, unsupported("reasonCode %d of CRL entry %d", reason, i)
	}
	return reason, nil
}

// readTime reads a UTCTime or GeneralizedTime as crypto/x509 does, with a
// fast path for the forms CAs write (YYMMDDHHMMSSZ, YYYYMMDDHHMMSSZ) that
// accepts exactly what time.Parse plus cryptobyte's round-trip check would.
func readTime(s *cryptobyte.String) (int64, bool) {
	if sec, n, ok := fastTime([]byte(*s)); ok {
		*s = (*s)[n:]
		return sec, true
	}
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return 0, false
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return 0, false
		}
	default:
		return 0, false
	}
	return t.Unix(), true
}

// fastTime reads the common forms, YYMMDDHHMMSSZ and YYYYMMDDHHMMSSZ, at
// the start of b without allocating: the seconds since 1970 and the
// element's length.
func fastTime(b []byte) (sec int64, n int, ok bool) {
	if len(b) >= 15 && b[0] == byte(cbasn1.UTCTime) && b[1] == 13 && b[14] == 'Z' {
		if yy, ok := digits(b[2:4]); ok {
			year := 1900 + yy
			if yy < 50 {
				year = 2000 + yy
			}
			if sec, ok := civil(year, b[4:14]); ok {
				return sec, 15, true
			}
		}
	}
	if len(b) >= 17 && b[0] == byte(cbasn1.GeneralizedTime) && b[1] == 15 && b[16] == 'Z' {
		hi, ok1 := digits(b[2:4])
		lo, ok2 := digits(b[4:6])
		if ok1 && ok2 {
			if sec, ok := civil(hi*100+lo, b[6:16]); ok {
				return sec, 17, true
			}
		}
	}
	return 0, 0, false
}

// digits reads two ASCII digits.
func digits(b []byte) (int, bool) {
	if b[0] < '0' || b[0] > '9' || b[1] < '0' || b[1] > '9' {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// civil converts year and MMDDHHMMSS to Unix seconds, validating the ranges
// time.Parse validates.
func civil(year int, b []byte) (int64, bool) {
	var f [5]int
	for i := range f {
		v, ok := digits(b[2*i : 2*i+2])
		if !ok {
			return 0, false
		}
		f[i] = v
	}
	month, day, hour, minute, sec := f[0], f[1], f[2], f[3], f[4]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date
// (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
