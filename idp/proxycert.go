package idp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
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
	// MaxProxyChain caps the certificates a header is read for, leaf
	// included, whatever TrustedProxies.MaxIntermediates says; real cards
	// present one or two.
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
	// Forwarded is the header ClientIP reads the client's address from
	// ("" means ForwardedXFF).
	Forwarded ForwardedHeader
	// MaxIntermediates caps the intermediates a header may carry after the
	// leaf, as trust.max_intermediates caps them on the card listener;
	// more are refused (x509cns.ReasonChainTooLong) before any certificate
	// is parsed. 0 means x509cns.DefaultMaxIntermediates; at most
	// MaxProxyChain-1 are ever read.
	MaxIntermediates int

	prefixes []netip.Prefix
}

func (t *TrustedProxies) maxChain() int {
	n := t.MaxIntermediates
	if n <= 0 {
		n = x509cns.DefaultMaxIntermediates
	}
	return min(1+n, MaxProxyChain)
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

// isCertHeader reports whether key names a client-certificate header of
// any kind: the defaults or the configured nginx names, in any letter case.
func (t *TrustedProxies) isCertHeader(key string) bool {
	var custom [2]string
	if t != nil {
		custom = [2]string{t.NginxCertHeader, t.NginxChainHeader}
	}
	for _, n := range [...]string{ClientCertHeader, ClientCertChainHeader, XFCCHeader,
		DefaultNginxCertHeader, DefaultNginxChainHeader, custom[0], custom[1]} {
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
// header and the fault; one with more intermediates than MaxIntermediates is
// refused with x509cns.ReasonChainTooLong.
func (t *TrustedProxies) Chain(h http.Header) ([]*x509.Certificate, error) {
	if t == nil {
		return nil, nil
	}
	limit := t.maxChain()
	switch t.Header {
	case ProxyRFC9440:
		return chainRFC9440(h, limit)
	case ProxyNginx:
		return chainNginx(h, orDefault(t.NginxCertHeader, DefaultNginxCertHeader), orDefault(t.NginxChainHeader, DefaultNginxChainHeader), limit)
	case ProxyXFCC:
		return chainXFCC(h, limit)
	}
	return nil, fmt.Errorf("idp: proxy header %q is not one of %q, %q, %q", t.Header, ProxyRFC9440, ProxyNginx, ProxyXFCC)
}
