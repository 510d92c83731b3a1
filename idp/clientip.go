package idp

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ForwardedHeader names the header in which a trusted proxy records the
// addresses a request came through: the values of proxy.forwarded_header.
type ForwardedHeader string

const (
	// ForwardedXFF reads X-Forwarded-For: "client, proxy1, proxy2" (the
	// default; what nginx, HAProxy and Envoy write).
	ForwardedXFF ForwardedHeader = "x-forwarded-for"
	// ForwardedRFC7239 reads the for= parameters of Forwarded (RFC 7239).
	ForwardedRFC7239 ForwardedHeader = "forwarded"
)

// Valid reports whether h is ForwardedXFF or ForwardedRFC7239.
func (h ForwardedHeader) Valid() bool { return h == ForwardedXFF || h == ForwardedRFC7239 }

// maxForwardedHops caps the addresses read from a forwarded header; the
// walk stops at the first untrusted one anyway.
const maxForwardedHops = 32

// ClientIP returns the address of the client of r, for the audit trail and
// the log. From a peer outside the trusted CIDRs it is the peer: a
// forwarded header from anyone else is the client's own claim and is
// ignored. From a trusted proxy it is the right-most address of the
// configured forwarded header that is not itself a trusted proxy: every
// address left of it was written by the client, who may write anything. An
// entry that is not an address (RFC 7239 "unknown", an obfuscated name,
// garbage) ends the walk at the trusted hop that reported it, with an error
// saying why.
func (t *TrustedProxies) ClientIP(r *http.Request) (string, error) {
	ip := peerIP(r.RemoteAddr)
	if !t.Trusted(r.RemoteAddr) {
		return ip, nil
	}
	hops, err := t.forwardedHops(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, perr := parseHop(hops[i])
		if perr != nil {
			return ip, errors.Join(err, perr)
		}
		ip = a.String()
		if !t.trustedAddr(a) {
			break
		}
	}
	return ip, err
}

// forwardedHops returns the hop entries of the configured header, left to
// right, across all its field lines.
func (t *TrustedProxies) forwardedHops(h http.Header) ([]string, error) {
	name := "X-Forwarded-For"
	if t.Forwarded == ForwardedRFC7239 {
		name = "Forwarded"
	}
	var hops []string
	for _, line := range h.Values(name) {
		for _, e := range strings.Split(line, ",") {
			if t.Forwarded == ForwardedRFC7239 {
				e = forParam(e)
			}
			hops = append(hops, strings.TrimSpace(e))
		}
	}
	if len(hops) > maxForwardedHops {
		return hops[len(hops)-maxForwardedHops:], fmt.Errorf("%s: %d hops, only the last %d read", name, len(hops), maxForwardedHops)
	}
	return hops, nil
}

// forParam returns the for= value of one Forwarded element ("" if none),
// unquoted.
func forParam(elem string) string {
	for _, pair := range strings.Split(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(k, "for") {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// parseHop reads one hop: an IPv4 or IPv6 address, optionally with a port
// ("192.0.2.1:4711", "[2001:db8::1]:4711", "[2001:db8::1]").
func parseHop(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.WithZone("").Unmap(), nil
		}
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return netip.Addr{}, fmt.Errorf("forwarded hop %q is not an IP address", s)
}

func (t *TrustedProxies) trustedAddr(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerIP is the address part of http.Request.RemoteAddr.
func peerIP(remoteAddr string) string {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap().String()
	}
	return remoteAddr
}
