package idp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/cnsgate/cnsgate/x509cns"
)

// ProxyHeader names the way a TLS-terminating proxy passes the card's
// certificate to cnsgate: the values of the config key proxy.header.
type ProxyHeader string

const (
	// ProxyRFC9440 reads Client-Cert and Client-Cert-Chain (RFC 9440): the
	// DER certificates as structured-field byte sequences, ":<base64>:".
	ProxyRFC9440 ProxyHeader = "rfc9440"
	// ProxyNginx reads the URL-escaped PEM that nginx's
	// $ssl_client_escaped_cert holds, from TrustedProxies.NginxCertHeader,
	// and optional intermediates from TrustedProxies.NginxChainHeader.
	ProxyNginx ProxyHeader = "nginx"
	// ProxyXFCC reads Envoy's X-Forwarded-Client-Cert.
	ProxyXFCC ProxyHeader = "xfcc"
)

// Valid reports whether p is one of ProxyRFC9440, ProxyNginx, ProxyXFCC.
func (p ProxyHeader) Valid() bool {
	return p == ProxyRFC9440 || p == ProxyNginx || p == ProxyXFCC
}

// Header names of the three kinds, and the limits on what they carry.
const (
	ClientCertHeader        = "Client-Cert"
	ClientCertChainHeader   = "Client-Cert-Chain"
	XFCCHeader              = "X-Forwarded-Client-Cert"
	DefaultNginxCertHeader  = "X-SSL-Client-Cert"
	DefaultNginxChainHeader = "X-SSL-Client-Chain"

	// MaxProxyHeaderBytes caps each header's value (all its field lines
	// together); a CNS or CIE chain needs a few KiB.
	MaxProxyHeaderBytes = 64 << 10
	// MaxProxyChain caps the certificates of a presented chain, leaf
	// included; real cards present one or two.
	MaxProxyChain = 8
)

// TrustedProxies decides whose client-certificate headers are believed and
// reads them. The headers are believed only from a peer inside the trusted
// CIDRs: from anyone else they are a spoofing attempt, to be ignored, logged,
// counted and stripped. A nil *TrustedProxies trusts no peer and reads
// nothing.
//
// The proxy in the trusted CIDRs must be the one that terminates the card's
// TLS, and must overwrite or delete every one of these headers that the
// client sent. Examples (cnsgate validates chain, policy and revocation, so
// the proxy need not; TLS stays at 1.2 for PKCS#11 card stacks):
//
// nginx (proxy.header: nginx); stock nginx has no variable for the client's
// intermediates, so the chain header is cleared:
//
//	ssl_protocols TLSv1.2;
//	ssl_verify_client optional_no_ca;
//	proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;
//	proxy_set_header X-SSL-Client-Chain "";
//	proxy_set_header Client-Cert "";
//	proxy_set_header Client-Cert-Chain "";
//	proxy_set_header X-Forwarded-Client-Cert "";
//
// HAProxy (proxy.header: rfc9440):
//
//	http-request del-header Client-Cert
//	http-request del-header Client-Cert-Chain
//	http-request del-header X-Forwarded-Client-Cert
//	http-request del-header X-SSL-Client-Cert
//	http-request del-header X-SSL-Client-Chain
//	http-request set-header Client-Cert :%[ssl_c_der,base64]: if { ssl_c_used }
//
// Envoy (proxy.header: xfcc), on the HTTP connection manager:
//
//	forward_client_cert_details: SANITIZE_SET
//	set_current_client_cert_details: { cert: true, chain: true }
//
// Set the fields before use, not concurrently with it.
type TrustedProxies struct {
	// Header is the kind Chain reads.
	Header ProxyHeader
	// NginxCertHeader and NginxChainHeader name the headers of the nginx
	// kind (DefaultNginxCertHeader, DefaultNginxChainHeader).
	NginxCertHeader, NginxChainHeader string

	prefixes []netip.Prefix
}

// NewTrustedProxies trusts the peers inside cidrs (each "10.0.0.0/8",
// "2001:db8::/32" or a single address) and reads header ("" means
// ProxyRFC9440). A CIDR with host bits set ("10.0.0.1/8") is an error, not a
// silent widening; every error is reported at once.
func NewTrustedProxies(cidrs []string, header ProxyHeader) (*TrustedProxies, error) {
	if header == "" {
		header = ProxyRFC9440
	}
	var errs []error
	if !header.Valid() {
		errs = append(errs, fmt.Errorf("proxy: header: %q is not one of %q, %q, %q", header, ProxyRFC9440, ProxyNginx, ProxyXFCC))
	}
	t := &TrustedProxies{Header: header, NginxCertHeader: DefaultNginxCertHeader, NginxChainHeader: DefaultNginxChainHeader}
	for i, s := range cidrs {
		p, err := parseTrustedPrefix(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("proxy: trusted_cidrs[%d]: %w", i, err))
			continue
		}
		t.prefixes = append(t.prefixes, p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func parseTrustedPrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (the network is %s)", s, m)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 { // ::ffff:10.0.0.0/104 is 10.0.0.0/8
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// Trusted reports whether remoteAddr (http.Request.RemoteAddr: "ip:port",
// "[v6]:port", or a bare address) is inside the trusted CIDRs. An
// IPv4-mapped IPv6 peer (::ffff:10.0.0.1) is judged as its IPv4 address;
// an IPv6 zone is ignored.
func (t *TrustedProxies) Trusted(remoteAddr string) bool {
	if t == nil || len(t.prefixes) == 0 {
		return false
	}
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remoteAddr); err != nil {
		return false
	}
	a = a.WithZone("").Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// headerNames lists every client-certificate header of every kind: the
// defaults and the configured nginx names.
func (t *TrustedProxies) headerNames() []string {
	names := []string{ClientCertHeader, ClientCertChainHeader, XFCCHeader, DefaultNginxCertHeader, DefaultNginxChainHeader}
	if t != nil {
		names = append(names, t.NginxCertHeader, t.NginxChainHeader)
	}
	return names
}

func (t *TrustedProxies) isCertHeader(key string) bool {
	for _, n := range t.headerNames() {
		if n != "" && strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}

// Present reports whether h holds a client-certificate header of any kind,
// whatever Header is configured; keys are matched case-insensitively, even
// when not in canonical form.
func (t *TrustedProxies) Present(h http.Header) bool {
	for k := range h {
		if t.isCertHeader(k) {
			return true
		}
	}
	return false
}

// StripHeaders deletes every client-certificate header of every kind from h,
// so that nothing downstream reads a spoofed one. Call it on every request
// once Chain has read what it needs.
func (t *TrustedProxies) StripHeaders(h http.Header) {
	for k := range h {
		if t.isCertHeader(k) {
			delete(h, k)
		}
	}
}

// Chain returns the chain the trusted proxy passed in h, leaf first, from the
// headers of kind Header. Only call it for a Trusted peer. No header means
// no certificate: (nil, nil). A header that does not parse is a
// *x509cns.Rejection with x509cns.ReasonMalformed whose Detail names the
// header and the fault.
func (t *TrustedProxies) Chain(h http.Header) ([]*x509.Certificate, error) {
	if t == nil {
		return nil, nil
	}
	switch t.Header {
	case ProxyRFC9440:
		return chainRFC9440(h)
	case ProxyNginx:
		return chainNginx(h, orDefault(t.NginxCertHeader, DefaultNginxCertHeader), orDefault(t.NginxChainHeader, DefaultNginxChainHeader))
	case ProxyXFCC:
		return chainXFCC(h)
	}
	return nil, fmt.Errorf("idp: proxy header %q is not one of %q, %q, %q", t.Header, ProxyRFC9440, ProxyNginx, ProxyXFCC)
}

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
// and whether there were any; it refuses a value over MaxProxyHeaderBytes.
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

// checkChainLen refuses a chain (leaf included) longer than MaxProxyChain,
// before any certificate is parsed.
func checkChainLen(label string, n int) error {
	if n > MaxProxyChain {
		return malformed(label, "%d certificates with the leaf, over the limit of %d", n, MaxProxyChain)
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
func chainRFC9440(h http.Header) ([]*x509.Certificate, error) {
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
	if err := checkChainLen(ClientCertChainHeader, 1+len(chain)); err != nil {
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
func chainNginx(h http.Header, certName, chainName string) ([]*x509.Certificate, error) {
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
	if err := checkChainLen(chainName, 1+len(chain)); err != nil {
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
func chainXFCC(h http.Header) ([]*x509.Certificate, error) {
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
	if err := checkChainLen(field, 1+len(inter)); err != nil {
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
		start := i
		for i < len(v) && isXFCCKeyByte(v[i]) {
			i++
		}
		key := v[start:i]
		switch {
		case key == "" && len(pairs) == 0 && (i == len(v) || v[i] == ','):
			return nil, 0, fmt.Errorf("element %d is empty", n)
		case key == "":
			return nil, 0, fmt.Errorf("element %d: %q where a key should start", n, clip(v[i:]))
		case i == len(v) || v[i] != '=':
			return nil, 0, fmt.Errorf("element %d: key %s has no '='", n, key)
		}
		i++
		var val strings.Builder
		quoted := i < len(v) && v[i] == '"'
		if quoted {
			closed := false
			for i++; i < len(v) && !closed; i++ {
				switch c := v[i]; {
				case c == '"':
					closed = true
				case c == '\\' && i+1 < len(v):
					i++
					val.WriteByte(v[i])
				case c == '\\':
				default:
					val.WriteByte(c)
				}
			}
			if !closed {
				return nil, 0, fmt.Errorf("element %d: %s: unterminated quoted value", n, key)
			}
		} else {
			for ; i < len(v) && v[i] != ';' && v[i] != ','; i++ {
				if v[i] == '"' || v[i] == '\\' {
					return nil, 0, fmt.Errorf("element %d: %s: unquoted value holds %q", n, key, v[i])
				}
				val.WriteByte(v[i])
			}
		}
		value := val.String()
		if !quoted {
			value = strings.TrimRight(value, " \t")
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

func isXFCCKeyByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func skipOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}
