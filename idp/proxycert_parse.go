package idp

// The parsers of the three client-certificate header formats.

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns"
)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// malformed is the Rejection of a header that does not parse.
func malformed(field, format string, args ...any) *x509cns.Rejection {
	return x509cns.Reject(x509cns.ReasonMalformed, "%s: %s", field, fmt.Sprintf(format, args...))
}

// fieldValue returns the field lines of name joined as HTTP combines them,
// and how many there were; it refuses a value over MaxProxyHeaderBytes.
func fieldValue(h http.Header, name, label string) (string, int, error) {
	lines := h.Values(name)
	n := 0
	for _, l := range lines {
		n += len(l) + 2
	}
	if n -= 2; n > MaxProxyHeaderBytes {
		return "", len(lines), malformed(label, "%d bytes, over the %d-byte limit", n, MaxProxyHeaderBytes)
	}
	return strings.Join(lines, ", "), len(lines), nil
}

// checkChainLen refuses a chain of n certificates (leaf included) longer
// than limit, before any certificate is parsed.
func checkChainLen(label string, n, limit int) error {
	if n > limit {
		return x509cns.Reject(x509cns.ReasonChainTooLong, "%s: %d certificates with the leaf, over the limit of %d", label, n, limit)
	}
	return nil
}

// parseDERs parses each DER certificate; what names them in a Rejection.
func parseDERs(ders [][]byte, what func(i int) string) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(ders))
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, &x509cns.Rejection{Reason: x509cns.ReasonMalformed, Detail: what(i), Err: err}
		}
		out = append(out, c)
	}
	return out, nil
}

// dropLeaf removes a leading copy of leaf from chain (Envoy's Chain, and some
// proxies' chain headers, repeat the leaf).
func dropLeaf(leaf []byte, chain [][]byte) [][]byte {
	if len(chain) > 0 && bytes.Equal(chain[0], leaf) {
		return chain[1:]
	}
	return chain
}

// escapedPEM decodes URL-escaped PEM (nginx's $ssl_client_escaped_cert,
// Envoy's Cert and Chain) into DER certificates. It unescapes with path
// semantics, so a literal '+' stays '+' (query semantics would turn it into
// a space and corrupt the base64). Only CERTIFICATE blocks without headers,
// separated by whitespace, are accepted; at most MaxProxyChain+1 are
// decoded, for the caller's length check to report.
func escapedPEM(field, what, v string) ([][]byte, error) {
	bad := func(format string, args ...any) error {
		return malformed(field, "%s is not URL-escaped PEM (%s)", what, fmt.Sprintf(format, args...))
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, bad("%v", err)
	}
	rest := []byte(s)
	var ders [][]byte
	for len(ders) <= MaxProxyChain {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		n := len(ders) + 1
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return nil, bad("block %d: no BEGIN line", n)
		}
		var b *pem.Block
		b, rest = pem.Decode(rest)
		switch {
		case b == nil:
			return nil, bad("block %d does not decode", n)
		case b.Type != "CERTIFICATE":
			return nil, bad("block %d is %q, not CERTIFICATE", n, b.Type)
		case len(b.Headers) > 0:
			return nil, bad("block %d has headers", n)
		}
		ders = append(ders, b.Bytes)
	}
	if len(ders) == 0 {
		return nil, bad("no PEM block")
	}
	return ders, nil
}

// chainRFC9440 reads Client-Cert (an sf-binary Item, a singleton) and
// Client-Cert-Chain (an sf-list of sf-binary, the intermediates in TLS
// order, possibly over several field lines) per RFC 9440 and RFC 8941.
func chainRFC9440(h http.Header, limit int) ([]*x509.Certificate, error) {
	leafVal, leafLines, err := fieldValue(h, ClientCertHeader, ClientCertHeader)
	if err != nil {
		return nil, err
	}
	chainVal, chainLines, err := fieldValue(h, ClientCertChainHeader, ClientCertChainHeader)
	if err != nil {
		return nil, err
	}
	switch {
	case leafLines == 0 && chainLines == 0:
		return nil, nil
	case leafLines == 0:
		return nil, malformed(ClientCertChainHeader, "present without %s", ClientCertHeader)
	case leafLines > 1:
		return nil, malformed(ClientCertHeader, "%d field lines; the field is a single item", leafLines)
	}
	leaf, err := sfItemBinary(leafVal)
	if err != nil {
		return nil, malformed(ClientCertHeader, "%v", err)
	}
	chain, err := sfListBinary(chainVal)
	if err != nil {
		return nil, malformed(ClientCertChainHeader, "%v", err)
	}
	if err := checkChainLen(ClientCertChainHeader, 1+len(chain), limit); err != nil {
		return nil, err
	}
	ders := [][]byte{leaf}
	for i, m := range chain {
		der, err := sfBase64(m)
		if err != nil {
			return nil, malformed(ClientCertChainHeader, "member %d: %v", i+1, err)
		}
		ders = append(ders, der)
	}
	return parseDERs(ders, func(i int) string {
		if i == 0 {
			return ClientCertHeader + ": DER certificate"
		}
		return fmt.Sprintf("%s: member %d: DER certificate", ClientCertChainHeader, i)
	})
}

var errNotSFBinary = errors.New("not a colon-delimited byte sequence")

// sfItemBinary parses a field that must be one sf-binary (RFC 8941 §4.2,
// without parameters) and returns its decoded bytes.
func sfItemBinary(v string) ([]byte, error) {
	s := strings.TrimLeft(v, " ")
	b64, rest, err := sfBinary(s)
	if err != nil {
		return nil, err
	}
	if rest = strings.TrimLeft(rest, " "); rest != "" {
		return nil, fmt.Errorf("unexpected %q after the byte sequence (parameters and lists are not allowed)", clip(rest))
	}
	return sfBase64(b64)
}

// sfListBinary splits an sf-list whose members must be sf-binary without
// parameters (RFC 8941 §4.2.1) and returns their base64 contents, at most
// MaxProxyChain of them plus one. An empty field is an empty list.
func sfListBinary(v string) ([]string, error) {
	s := strings.TrimLeft(v, " ")
	var out []string
	for s != "" && len(out) <= MaxProxyChain {
		b64, rest, err := sfBinary(s)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", len(out)+1, err)
		}
		out = append(out, b64)
		s = strings.TrimLeft(rest, " \t")
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, fmt.Errorf("unexpected %q after member %d (parameters are not allowed; members are separated by ',')", clip(s), len(out))
		}
		if s = strings.TrimLeft(s[1:], " \t"); s == "" {
			return nil, errors.New("trailing comma")
		}
	}
	return out, nil
}

// sfBinary reads one ":<base64>:" from the start of s and returns the
// base64 text and what follows.
func sfBinary(s string) (b64, rest string, err error) {
	if s == "" || s[0] != ':' {
		return "", "", errNotSFBinary
	}
	end := strings.IndexByte(s[1:], ':')
	if end < 0 {
		return "", "", errNotSFBinary
	}
	b64 = s[1 : 1+end]
	for i := 0; i < len(b64); i++ {
		c := b64[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return "", "", fmt.Errorf("byte sequence has %q at offset %d, outside standard base64", c, i)
		}
	}
	return b64, s[2+end:], nil
}

// sfBase64 decodes the content of an sf-binary: standard base64, '=' padding
// only at the end and only as much as the length needs, or omitted as RFC
// 8941 §3.3.5 asks recipients to accept.
func sfBase64(b64 string) ([]byte, error) {
	if b64 == "" {
		return nil, errors.New("empty byte sequence")
	}
	enc := base64.RawStdEncoding
	if strings.IndexByte(b64, '=') >= 0 {
		enc = base64.StdEncoding
	}
	der, err := enc.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("byte sequence is not standard base64 (%v)", err)
	}
	return der, nil
}

func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}

// chainNginx reads the URL-escaped PEM leaf from certName and optional
// intermediates (URL-escaped PEM, one or more) from chainName. An empty
// value means no certificate, as nginx sends it when the client had none.
func chainNginx(h http.Header, certName, chainName string, limit int) ([]*x509.Certificate, error) {
	certVal, certLines, err := fieldValue(h, certName, certName)
	if err != nil {
		return nil, err
	}
	chainVal, chainLines, err := fieldValue(h, chainName, chainName)
	if err != nil {
		return nil, err
	}
	certVal, chainVal = strings.TrimSpace(certVal), strings.TrimSpace(chainVal)
	switch {
	case certLines > 1:
		return nil, malformed(certName, "%d field lines; one certificate expected", certLines)
	case chainLines > 1:
		return nil, malformed(chainName, "%d field lines; one value expected", chainLines)
	case certVal == "" && chainVal == "":
		return nil, nil
	case certVal == "":
		return nil, malformed(chainName, "present without %s", certName)
	}
	leaf, err := escapedPEM(certName, "value", certVal)
	if err != nil {
		return nil, err
	}
	if len(leaf) != 1 {
		return nil, malformed(certName, "%d certificates; one expected (intermediates go in %s)", len(leaf), chainName)
	}
	var chain [][]byte
	if chainVal != "" {
		if chain, err = escapedPEM(chainName, "value", chainVal); err != nil {
			return nil, err
		}
		chain = dropLeaf(leaf[0], chain)
	}
	if err := checkChainLen(chainName, 1+len(chain), limit); err != nil {
		return nil, err
	}
	return parseDERs(append(leaf, chain...), func(i int) string {
		if i == 0 {
			return certName + ": certificate"
		}
		return fmt.Sprintf("%s: certificate %d", chainName, i)
	})
}

// chainXFCC reads the Cert (the leaf) and optional Chain (Envoy puts the
// leaf first in it) of the last element of X-Forwarded-Client-Cert.
//
// Why the last: each Envoy hop either replaces the header with its own
// element (SANITIZE_SET) or appends its element after a comma
// (APPEND_FORWARD). Either way the last element was written by the proxy
// that connects to cnsgate, the trusted peer that terminated the card's TLS;
// earlier ones come from hops cnsgate cannot see, or from the client itself,
// and prove nothing. The whole header is parsed strictly, so that a crafted
// earlier element (say an unterminated quote) fails the request instead of
// moving where the last element begins.
func chainXFCC(h http.Header, limit int) ([]*x509.Certificate, error) {
	const field = "XFCC"
	v, lines, err := fieldValue(h, XFCCHeader, field)
	if err != nil || lines == 0 {
		return nil, err
	}
	elems, err := parseXFCC(v)
	if err != nil {
		return nil, malformed(field, "%v", err)
	}
	var cert, chain *string
	for _, p := range elems[len(elems)-1] {
		var dst **string
		switch {
		case strings.EqualFold(p.key, "Cert"):
			dst = &cert
		case strings.EqualFold(p.key, "Chain"):
			dst = &chain
		default:
			continue
		}
		if *dst != nil {
			return nil, malformed(field, "last element has %s twice", p.key)
		}
		*dst = &p.value
	}
	if cert == nil {
		return nil, malformed(field, "last element has no Cert (Envoy: set_current_client_cert_details cert: true)")
	}
	leaf, err := escapedPEM(field, "Cert value", *cert)
	if err != nil {
		return nil, err
	}
	if len(leaf) != 1 {
		return nil, malformed(field, "Cert value holds %d certificates; one expected", len(leaf))
	}
	var inter [][]byte
	if chain != nil {
		if inter, err = escapedPEM(field, "Chain value", *chain); err != nil {
			return nil, err
		}
		inter = dropLeaf(leaf[0], inter)
	}
	if err := checkChainLen(field, 1+len(inter), limit); err != nil {
		return nil, err
	}
	return parseDERs(append(leaf, inter...), func(i int) string {
		if i == 0 {
			return field + ": Cert certificate"
		}
		return fmt.Sprintf("%s: Chain certificate %d after the leaf", field, i)
	})
}

type xfccPair struct{ key, value string }

// parseXFCC splits an XFCC value into elements (separated by ',', with
// optional whitespace around) of key=value pairs (separated by ';'). A value
// is either bare (no '"', '\\', ';' or ',') or double-quoted with backslash
// escapes, inside which ',' and ';' do not split.
func parseXFCC(v string) ([][]xfccPair, error) {
	var elems [][]xfccPair
	for i := 0; ; i++ { // i++ steps over the ',' an element stopped at
		elem, j, err := parseXFCCElement(v, skipOWS(v, i), len(elems)+1)
		if err != nil {
			return nil, err
		}
		elems = append(elems, elem)
		if i = j; i == len(v) {
			return elems, nil
		}
	}
}

// parseXFCCElement parses the n-th element from v[i:] and returns where it
// stopped: at the end of v or at the ',' that ends it.
func parseXFCCElement(v string, i, n int) ([]xfccPair, int, error) {
	var pairs []xfccPair
	for {
		key, next, err := readXFCCKey(v, i, n, len(pairs) == 0)
		if err != nil {
			return nil, 0, err
		}
		i = next + 1 // past '='
		var value string
		if i < len(v) && v[i] == '"' {
			value, i, err = readXFCCQuoted(v, i+1, n, key)
		} else {
			value, i, err = readXFCCToken(v, i, n, key)
		}
		if err != nil {
			return nil, 0, err
		}
		pairs = append(pairs, xfccPair{key: key, value: value})
		if j := skipOWS(v, i); j == len(v) || v[j] == ',' {
			return pairs, j, nil
		}
		if v[i] != ';' {
			return nil, 0, fmt.Errorf("element %d: %s: %q after the value", n, key, clip(v[i:]))
		}
		i++
	}
}

// readXFCCKey reads the key that starts at v[i] and returns it with the
// index of the '=' that must follow; first says no pair was read yet in
// element n.
func readXFCCKey(v string, i, n int, first bool) (string, int, error) {
	start := i
	for i < len(v) && isXFCCKeyByte(v[i]) {
		i++
	}
	key := v[start:i]
	switch {
	case key == "" && first && (i == len(v) || v[i] == ','):
		return "", 0, fmt.Errorf("element %d is empty", n)
	case key == "":
		return "", 0, fmt.Errorf("element %d: %q where a key should start", n, clip(v[i:]))
	case i == len(v) || v[i] != '=':
		return "", 0, fmt.Errorf("element %d: key %s has no '='", n, key)
	}
	return key, i, nil
}

// readXFCCQuoted reads a quoted value whose content starts at v[i],
// undoing backslash escapes, and returns it with the index past the
// closing quote.
func readXFCCQuoted(v string, i, n int, key string) (string, int, error) {
	var val strings.Builder
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return val.String(), i + 1, nil
		case c == '\\' && i+1 < len(v):
			i++
			val.WriteByte(v[i])
		case c == '\\':
		default:
			val.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("element %d: %s: unterminated quoted value", n, key)
}

// readXFCCToken reads an unquoted value that starts at v[i] and ends at
// ';', ',' or the end, without trailing blanks, and returns it with the
// index of its end.
func readXFCCToken(v string, i, n int, key string) (string, int, error) {
	start := i
	for ; i < len(v) && v[i] != ';' && v[i] != ','; i++ {
		if v[i] == '"' || v[i] == '\\' {
			return "", 0, fmt.Errorf("element %d: %s: unquoted value holds %q", n, key, v[i])
		}
	}
	return strings.TrimRight(v[start:i], " \t"), i, nil
}

func isXFCCKeyByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func skipOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}
