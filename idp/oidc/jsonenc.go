package oidc

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

// The JSON of the hot answers (token claims, /userinfo, /introspect, the
// token response), written without reflection. Every function here writes
// exactly the bytes encoding/json writes for the same value (keys sorted
// byte-wise, <, > and & escaped, compact), falling back to it for any value
// or string it does not handle itself; TestAppendJSONMatchesEncodingJSON
// holds them to it.

// appendClaims appends claims as json.Marshal writes a map[string]any.
func appendClaims(buf []byte, claims map[string]any) ([]byte, error) {
	var arr [24]string
	keys := arr[:0]
	for k := range claims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		var err error
		if buf, err = appendJSONValue(buf, claims[k]); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendJSONValue appends v: strings, integers, booleans and string
// slices directly, anything else through json.Marshal.
func appendJSONValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendJSONString(buf, v), nil
	case int64:
		return strconv.AppendInt(buf, v, 10), nil
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case []string:
		if v == nil {
			return append(buf, "null"...), nil
		}
		buf = append(buf, '[')
		for i, s := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, s)
		}
		return append(buf, ']'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(buf, b...), nil
}

// appendJSONString appends s quoted. A string of printable ASCII without
// ", \, <, > or & is copied as it is; any other goes through json.Marshal,
// which escapes it.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendTokenResponse appends t as json.Marshal writes a tokenResponse.
func appendTokenResponse(buf []byte, t *tokenResponse) []byte {
	buf = append(buf, `{"access_token":`...)
	buf = appendJSONString(buf, t.AccessToken)
	buf = append(buf, `,"token_type":`...)
	buf = appendJSONString(buf, t.TokenType)
	buf = append(buf, `,"expires_in":`...)
	buf = strconv.AppendInt(buf, t.ExpiresIn, 10)
	if t.RefreshToken != "" {
		buf = append(buf, `,"refresh_token":`...)
		buf = appendJSONString(buf, t.RefreshToken)
	}
	if t.IDToken != "" {
		buf = append(buf, `,"id_token":`...)
		buf = appendJSONString(buf, t.IDToken)
	}
	buf = append(buf, `,"scope":`...)
	buf = appendJSONString(buf, t.Scope)
	return append(buf, '}')
}

// The header values of every JSON answer, shared: a header map given a
// fresh slice per response for each costs an allocation each. Header.Set
// and Add replace or grow the slice, never write into it.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
)

// writeJSON answers a back-channel request; nothing of it may be cached.
// The body is what json.Encoder writes (a newline after the value).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["Pragma"] = hdrJSON, hdrNoStore, hdrNoCache
	var body []byte
	var err error
	switch v := v.(type) {
	case map[string]any:
		body, err = appendClaims(make([]byte, 0, 512), v)
	case *tokenResponse:
		n := len(v.AccessToken) + len(v.RefreshToken) + len(v.IDToken) + len(v.Scope) + 128
		body = appendTokenResponse(make([]byte, 0, n), v)
	default:
		body, err = json.Marshal(v)
	}
	w.WriteHeader(status)
	if err != nil {
		return // as json.Encoder: the status and headers, no body
	}
	_, _ = w.Write(append(body, '\n'))
}
