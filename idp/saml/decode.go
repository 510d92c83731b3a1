package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	crewjam "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
)

// Limits on what a browser may bring. The encoded limit applies before
// anything is decoded, the inflated one while inflating, so that neither a
// huge parameter nor a deflate bomb costs more than these bytes.
const (
	maxEncoded    = 64 << 10  // SAMLRequest or SAMLResponse as received
	maxInflated   = 256 << 10 // XML after inflating (Redirect binding)
	maxRelayState = 1024      // the spec says 80 bytes; SPs exceed it
	maxQuery      = 4 * maxEncoded
	maxForm       = maxEncoded + 8<<10
	maxXMLDepth   = 64
)

// Errors of request decoding.
var (
	ErrTooLarge  = errors.New("saml: message too large")
	ErrMalformed = errors.New("saml: malformed message")
)

// Message parameters and bindings.
const (
	bindingRedirect = crewjam.HTTPRedirectBinding
	bindingPost     = crewjam.HTTPPostBinding

	paramRequest  = "SAMLRequest"
	paramResponse = "SAMLResponse"
)

// message is a SAML protocol message as a binding delivered it.
type message struct {
	binding    string // crewjam.HTTPRedirectBinding or crewjam.HTTPPostBinding
	param      string // paramRequest or paramResponse
	xml        []byte
	relayState string
	// Redirect binding: the query-string signature and the octets it
	// covers, "SAMLRequest=...&RelayState=...&SigAlg=..." exactly as the
	// values were received.
	sigAlg      string
	signature   []byte
	signedQuery string
}

// decodeRedirect reads param from a Redirect-binding query string: the raw
// values are kept for the signature, base64 decoded and inflated under the
// limits. A repeated parameter is refused: the signature would cover one
// occurrence and a lenient parser could read the other.
func decodeRedirect(rawQuery, param string) (*message, error) {
	if len(rawQuery) > maxQuery {
		return nil, fmt.Errorf("%w: query string of %d bytes", ErrTooLarge, len(rawQuery))
	}
	raw, err := redirectParams(rawQuery, param)
	if err != nil {
		return nil, err
	}
	enc, ok := raw[param]
	if !ok || enc == "" {
		return nil, fmt.Errorf("%w: no %s", ErrMalformed, param)
	}
	if len(enc) > maxEncoded {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, param, len(enc))
	}
	m := &message{binding: bindingRedirect, param: param}
	vals, err := unescapeParams(raw)
	if err != nil {
		return nil, err
	}
	compressed, err := decodeBase64(vals[param])
	if err != nil {
		return nil, err
	}
	if m.xml, err = inflate(compressed); err != nil {
		return nil, err
	}
	m.relayState = vals["RelayState"]
	if len(m.relayState) > maxRelayState {
		return nil, fmt.Errorf("%w: RelayState of %d bytes", ErrTooLarge, len(m.relayState))
	}
	if err := m.readQuerySignature(raw, vals); err != nil {
		return nil, err
	}
	return m, checkXML(m.xml)
}

// redirectParams returns the parameters of the Redirect binding found in
// rawQuery, still escaped as they were signed; a repeated one is refused.
func redirectParams(rawQuery, param string) (map[string]string, error) {
	raw := map[string]string{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case param, "RelayState", "SigAlg", "Signature":
			if _, dup := raw[k]; dup {
				return nil, fmt.Errorf("%w: parameter %s repeated", ErrMalformed, k)
			}
			raw[k] = v
		}
	}
	return raw, nil
}

// unescapeParams returns the values of raw, unescaped.
func unescapeParams(raw map[string]string) (map[string]string, error) {
	vals := make(map[string]string, len(raw))
	for k, v := range raw {
		u, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, k, err)
		}
		vals[k] = u
	}
	return vals, nil
}

// readQuerySignature takes SigAlg and Signature, when present, and the
// query string they sign, rebuilt in the binding's order from the escaped
// values as sent.
func (m *message) readQuerySignature(raw, vals map[string]string) error {
	_, hasAlg := raw["SigAlg"]
	_, hasSig := raw["Signature"]
	if !hasAlg && !hasSig {
		return nil
	}
	if !hasAlg || !hasSig {
		return fmt.Errorf("%w: SigAlg and Signature must come together", ErrMalformed)
	}
	m.sigAlg = vals["SigAlg"]
	var err error
	if m.signature, err = decodeBase64(vals["Signature"]); err != nil {
		return err
	}
	m.signedQuery = m.param + "=" + raw[m.param]
	if rs, ok := raw["RelayState"]; ok {
		m.signedQuery += "&RelayState=" + rs
	}
	m.signedQuery += "&SigAlg=" + raw["SigAlg"]
	return nil
}

// decodePost reads param from a POST-binding form, the body capped before
// it is parsed.
func decodePost(w http.ResponseWriter, r *http.Request, param string) (*message, error) {
	if err := parseForm(w, r); err != nil {
		return nil, err
	}
	return decodePostValues(r.PostForm, param)
}

// parseForm parses a POST-binding form once, the body capped before it is
// read; later calls find r.PostForm parsed.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return fmt.Errorf("%w: content type %q", ErrMalformed, ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		r.PostForm = nil
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return fmt.Errorf("%w: form larger than %d bytes", ErrTooLarge, maxForm)
		}
		return fmt.Errorf("%w: form: %v", ErrMalformed, err)
	}
	return nil
}

func decodePostValues(form url.Values, param string) (*message, error) {
	for _, k := range []string{param, "RelayState"} {
		if len(form[k]) > 1 {
			return nil, fmt.Errorf("%w: parameter %s repeated", ErrMalformed, k)
		}
	}
	enc := form.Get(param)
	if enc == "" {
		return nil, fmt.Errorf("%w: no %s", ErrMalformed, param)
	}
	if len(enc) > maxEncoded {
		return nil, fmt.Errorf("%w: %s of %d bytes", ErrTooLarge, param, len(enc))
	}
	m := &message{binding: bindingPost, param: param, relayState: form.Get("RelayState")}
	if len(m.relayState) > maxRelayState {
		return nil, fmt.Errorf("%w: RelayState of %d bytes", ErrTooLarge, len(m.relayState))
	}
	var err error
	if m.xml, err = decodeBase64(enc); err != nil {
		return nil, err
	}
	return m, checkXML(m.xml)
}

// decodeBase64 reads standard base64, tolerating the line breaks some
// senders insert.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	return b, nil
}

// inflate reads raw DEFLATE data, never more than maxInflated bytes of it.
func inflate(compressed []byte) ([]byte, error) {
	fr := flate.NewReader(bytes.NewReader(compressed))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("%w: inflate: %v", ErrMalformed, err)
	}
	if len(out) > maxInflated {
		return nil, fmt.Errorf("%w: inflates past %d bytes", ErrTooLarge, maxInflated)
	}
	return out, nil
}

// checkXML refuses what a SAML message never needs and parsers disagree
// on: a DOCTYPE (entities), more than one root, nesting deeper than
// maxXMLDepth, and anything that does not survive an encoding/xml round
// trip unchanged (crewjam's validator for namespace tricks).
func checkXML(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, roots := 0, 0
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: DOCTYPE or other directive", ErrMalformed)
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			if depth++; depth > maxXMLDepth {
				return fmt.Errorf("%w: nested deeper than %d", ErrMalformed, maxXMLDepth)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Errorf("%w: %d root elements", ErrMalformed, roots)
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
