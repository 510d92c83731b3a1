package config

import (
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The checks below add a problem to p and report whether the value passed.
// Each names the option by its key within section.

func required(p *problems, section, key, v string) bool {
	if strings.TrimSpace(v) == "" {
		p.add(section, "option '%s' is required", key)
		return false
	}
	return true
}

func oneOf[T ~string](p *problems, section, key string, v T, allowed []T) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = "'" + string(a) + "'"
	}
	p.add(section, "option '%s' must be one of %s but it's configured as '%s'", key, strings.Join(quoted, ", "), v)
	return false
}

func positive(p *problems, section, key string, d Duration) bool {
	if d <= 0 {
		p.add(section, "option '%s' must be a positive duration but it's configured as '%s'", key, d)
		return false
	}
	return true
}

// hostPort checks a listen or dial address: host:port with a numeric port;
// the host may be empty (all interfaces).
func hostPort(p *problems, section, key, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		p.add(section, "option '%s' must be a host:port address but it's configured as '%s'", key, addr)
		return false
	}
	return true
}

// urlRule says what an absolute URL option accepts.
type urlRule struct {
	schemes    []string // allowed schemes; any when empty
	originOnly bool     // no path beyond "/"
	noSlash    bool     // no trailing "/"
}

var (
	httpURL  = urlRule{schemes: []string{"http", "https"}}
	httpsURL = urlRule{schemes: []string{"https"}}
)

// absURL checks an absolute URL without fragment or user info and returns
// it parsed, nil when it fails.
func absURL(p *problems, section, key, raw string, rule urlRule) *url.URL {
	u, err := url.Parse(raw)
	// A private-use scheme (it.example.app:/callback) needs no host.
	web := u != nil && (u.Scheme == "http" || u.Scheme == "https")
	if err != nil || u.Scheme == "" || (web && u.Host == "") {
		p.add(section, "option '%s' must be an absolute URL but it's configured as '%s'", key, raw)
		return nil
	}
	if len(rule.schemes) > 0 && !slices.Contains(rule.schemes, strings.ToLower(u.Scheme)) {
		p.add(section, "option '%s' must be a URL with scheme %s but it's configured as '%s'", key, strings.Join(rule.schemes, " or "), raw)
		return nil
	}
	if msg := rule.refusal(u, raw); msg != "" {
		p.add(section, "option '%s' %s", key, msg)
		return nil
	}
	return u
}

// refusal says what is wrong with an absolute URL u (written raw) under
// the rule, "" when nothing is. The message follows "option 'key' ".
func (rule urlRule) refusal(u *url.URL, raw string) string {
	switch {
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment but it's configured as '" + raw + "'"
	case u.User != nil:
		return "must not hold credentials"
	case rule.originOnly && (strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != ""):
		return "must be an origin (scheme://host[:port]) but it's configured as '" + raw + "'"
	case rule.noSlash && (strings.HasSuffix(u.Path, "/") || u.RawQuery != ""):
		return "must not end with '/' nor have a query but it's configured as '" + raw + "'"
	}
	return ""
}

// loopback reports whether a URL's host is a loopback name, where plain
// http is tolerated for development.
func loopback(u *url.URL) bool {
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// origin is scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(net.JoinHostPort(u.Hostname(), port))
}

// validOID reports whether s is a dotted object identifier (ParseOID).
func validOID(s string) bool {
	_, err := ParseOID(s)
	return err == nil
}

// ParseOID reads a dotted object identifier such as a trust.policies item:
// at least two arcs, the first 0, 1 or 2, decimal digits only, no leading
// zeros, each arc within an int. It is the one reader of OIDs written as
// text: Validate checks with it and cmd/cnsgate builds the validation
// policy with it.
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	bad := fmt.Errorf("%q is not a dotted object identifier", s)
	arcs := strings.Split(s, ".")
	if len(arcs) < 2 {
		return nil, bad
	}
	oid := make(asn1.ObjectIdentifier, len(arcs))
	for i, a := range arcs {
		if a == "" || (len(a) > 1 && a[0] == '0') || strings.Trim(a, "0123456789") != "" {
			return nil, bad
		}
		n, err := strconv.Atoi(a)
		if err != nil {
			return nil, bad
		}
		if i == 0 && n > 2 {
			return nil, bad
		}
		oid[i] = n
	}
	return oid, nil
}

func validCIDR(s string) bool {
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// validJWKS reports whether s is a JWK Set with at least one key.
func validJWKS(s string) bool {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	return json.Unmarshal([]byte(s), &set) == nil && len(set.Keys) > 0
}
