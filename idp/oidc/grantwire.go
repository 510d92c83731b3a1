package oidc

import (
	"encoding/json"
	"strconv"
)

// The short form of a grant (grantWire) read and written without
// reflection, for the records cnsgate itself writes: a compact object of
// the short names with strings free of escapes, integers and booleans.
// Anything else (the claims parameter, an escape, whitespace, a long name,
// a number that is not a plain integer) goes through encoding/json, so the
// result is always what json.Unmarshal gives; FuzzGrantWireDecode holds
// the fast path to it.

// decode reads b into w; ok is false, and w unspecified, when b is not a
// record the fast path reads: the caller then uses json.Unmarshal.
func (w *grantWire) decode(b []byte) (ok bool) {
	r := wireReader{b: b}
	if !r.byte('{') {
		return false
	}
	if r.byte('}') {
		return r.done()
	}
	for {
		key, ok := r.str()
		if !ok || !r.byte(':') || !w.field(&r, key) {
			return false
		}
		if r.byte('}') {
			return r.done()
		}
		if !r.byte(',') {
			return false
		}
	}
}

// field reads the value of key into w.
func (w *grantWire) field(r *wireReader, key string) bool {
	if s := w.stringField(key); s != nil {
		var ok bool
		*s, ok = r.str()
		return ok
	}
	if n := w.intField(key); n != nil {
		var ok bool
		*n, ok = r.integer()
		return ok
	}
	switch key {
	case "s":
		var ok bool
		w.Scopes, ok = r.strings()
		return ok
	case "o":
		var ok bool
		w.Offline, ok = r.boolean()
		return ok
	}
	return false // cl, or a name of another form
}

func (w *grantWire) stringField(key string) *string {
	switch key {
	case "f":
		return &w.Family
	case "c":
		return &w.ClientID
	case "h":
		return &w.SessionHash
	case "cf":
		return &w.FiscalCode
	case "i":
		return &w.SID
	case "r":
		return &w.RedirectURI
	case "pk":
		return &w.Challenge
	case "n":
		return &w.Nonce
	case "a":
		return &w.ACR
	}
	return nil
}

func (w *grantWire) intField(key string) *int64 {
	switch key {
	case "dm":
		return &w.Deadline
	case "d":
		return &w.DeadlineNS
	case "xm":
		return &w.Expires
	case "x":
		return &w.ExpiresNS
	}
	return nil
}

// wireReader reads the compact JSON of decode.
type wireReader struct {
	b []byte
	i int
}

func (r *wireReader) byte(c byte) bool {
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *wireReader) done() bool { return r.i == len(r.b) }

// str reads a string of printable ASCII without escapes.
func (r *wireReader) str() (string, bool) {
	if !r.byte('"') {
		return "", false
	}
	for j := r.i; j < len(r.b); j++ {
		switch c := r.b[j]; {
		case c == '"':
			s := string(r.b[r.i:j])
			r.i = j + 1
			return s, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
	}
	return "", false
}

// integer reads -?[1-9][0-9]* or 0, within int64.
func (r *wireReader) integer() (int64, bool) {
	j := r.i
	if j < len(r.b) && r.b[j] == '-' {
		j++
	}
	start := j
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		j++
	}
	if j == start || (r.b[start] == '0' && j > start+1) || (j < len(r.b) && (r.b[j] == '.' || r.b[j] == 'e' || r.b[j] == 'E')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(r.b[r.i:j]), 10, 64)
	if err != nil {
		return 0, false
	}
	r.i = j
	return n, true
}

func (r *wireReader) boolean() (bool, bool) {
	rest := r.b[r.i:]
	switch {
	case len(rest) >= 4 && string(rest[:4]) == "true":
		r.i += 4
		return true, true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		r.i += 5
		return false, true
	}
	return false, false
}

// strings reads null or an array of strings (empty: a non-nil empty
// slice, as json.Unmarshal makes).
func (r *wireReader) strings() ([]string, bool) {
	if rest := r.b[r.i:]; len(rest) >= 4 && string(rest[:4]) == "null" {
		r.i += 4
		return nil, true
	}
	if !r.byte('[') {
		return nil, false
	}
	out := []string{}
	if r.byte(']') {
		return out, true
	}
	for {
		s, ok := r.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if r.byte(']') {
			return out, true
		}
		if !r.byte(',') {
			return nil, false
		}
	}
}

// unmarshalWire reads the short form (or anything else json.Unmarshal
// reads into it) into w.
func unmarshalWire(b []byte, w *grantWire) error {
	if w.decode(b) {
		return nil
	}
	*w = grantWire{}
	return json.Unmarshal(b, w)
}

// appendWire appends w as json.Marshal writes it.
func appendWire(buf []byte, w *grantWire) ([]byte, error) {
	if w.Claims != nil {
		b, err := json.Marshal(w)
		return append(buf, b...), err
	}
	buf = append(buf, `{"f":`...)
	buf = appendJSONString(buf, w.Family)
	buf = append(buf, `,"c":`...)
	buf = appendJSONString(buf, w.ClientID)
	if len(w.Scopes) > 0 {
		buf = append(buf, `,"s":`...)
		buf, _ = appendJSONValue(buf, w.Scopes)
	}
	buf = append(buf, `,"h":`...)
	buf = appendJSONString(buf, w.SessionHash)
	buf = append(buf, `,"cf":`...)
	buf = appendJSONString(buf, w.FiscalCode)
	buf = appendOptString(buf, `,"i":`, w.SID)
	buf = appendOptInt(buf, `,"dm":`, w.Deadline)
	buf = appendOptInt(buf, `,"d":`, w.DeadlineNS)
	buf = appendOptString(buf, `,"r":`, w.RedirectURI)
	buf = appendOptString(buf, `,"pk":`, w.Challenge)
	buf = appendOptString(buf, `,"n":`, w.Nonce)
	buf = appendOptString(buf, `,"a":`, w.ACR)
	if w.Offline {
		buf = append(buf, `,"o":true`...)
	}
	buf = appendOptInt(buf, `,"xm":`, w.Expires)
	buf = appendOptInt(buf, `,"x":`, w.ExpiresNS)
	return append(buf, '}'), nil
}

func appendOptString(buf []byte, name, v string) []byte {
	if v == "" {
		return buf
	}
	return appendJSONString(append(buf, name...), v)
}

func appendOptInt(buf []byte, name string, v int64) []byte {
	if v == 0 {
		return buf
	}
	return strconv.AppendInt(append(buf, name...), v, 10)
}
