package x509cns

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// oidNameConstraints is the X.509 nameConstraints extension (RFC 5280 4.2.1.10).
var oidNameConstraints = asn1.ObjectIdentifier{2, 5, 29, 30}

// unreadCritical returns the critical extensions of c that crypto/x509 did
// not read, but for nameConstraints, which checkNameConstraints reads
// itself.
func unreadCritical(c *x509.Certificate) []asn1.ObjectIdentifier {
	var out []asn1.ObjectIdentifier
	for _, oid := range c.UnhandledCriticalExtensions {
		if !oid.Equal(oidNameConstraints) {
			out = append(out, oid)
		}
	}
	return out
}

// GeneralName tags (RFC 5280 4.2.1.6) a name constraint may carry.
const (
	gnEmail     = 1
	gnDNS       = 2
	gnDirectory = 4
	gnURI       = 6
	gnIP        = 7
)

type generalSubtree struct {
	Base asn1.RawValue
	Min  int `asn1:"optional,tag:0,default:0"`
	Max  int `asn1:"optional,tag:1,default:-1"`
}

type nameConstraintsDER struct {
	Permitted []generalSubtree `asn1:"optional,tag:0"`
	Excluded  []generalSubtree `asn1:"optional,tag:1"`
}

// directoryConstraints are the directoryName subtrees of a CA's name
// constraints, which crypto/x509 does not read.
type directoryConstraints struct {
	permitted, excluded []pkix.RDNSequence
}

// readDirectoryConstraints reads the directoryName subtrees of ca's
// nameConstraints. A subtree of a kind nobody here can evaluate (otherName,
// x400Address, ediPartyName, registeredID) or with minimum/maximum set is
// an error: a constraint that cannot be honoured refuses the chain.
func readDirectoryConstraints(ca *x509.Certificate) (directoryConstraints, bool, error) {
	var dc directoryConstraints
	for _, ext := range ca.Extensions {
		if !ext.Id.Equal(oidNameConstraints) {
			continue
		}
		var nc nameConstraintsDER
		if rest, err := asn1.Unmarshal(ext.Value, &nc); err != nil || len(rest) > 0 {
			return dc, true, fmt.Errorf("nameConstraints of %q do not parse", ca.Subject.CommonName)
		}
		var err error
		if dc.permitted, err = directorySubtrees(nc.Permitted); err == nil {
			dc.excluded, err = directorySubtrees(nc.Excluded)
		}
		return dc, true, err
	}
	return dc, false, nil
}

func directorySubtrees(subtrees []generalSubtree) ([]pkix.RDNSequence, error) {
	var out []pkix.RDNSequence
	for _, st := range subtrees {
		if st.Min != 0 || st.Max != -1 {
			return nil, fmt.Errorf("name constraint with minimum or maximum")
		}
		if st.Base.Class != asn1.ClassContextSpecific {
			return nil, fmt.Errorf("name constraint of class %d", st.Base.Class)
		}
		switch st.Base.Tag {
		case gnEmail, gnDNS, gnURI, gnIP: // read by crypto/x509
		case gnDirectory:
			var name pkix.RDNSequence
			if rest, err := asn1.Unmarshal(st.Base.Bytes, &name); err != nil || len(rest) > 0 {
				return nil, fmt.Errorf("directoryName constraint does not parse")
			}
			out = append(out, name)
		default:
			return nil, fmt.Errorf("name constraint of GeneralName type %d cannot be evaluated", st.Base.Tag)
		}
	}
	return out, nil
}

// checkNameConstraints holds every certificate of chain (leaf first, anchor
// last) to the name constraints of each CA above it: the subject
// (directoryName) and the DNS, e-mail, IP and URI subject alternative names.
// Self-issued intermediates are exempt, as RFC 5280 6.1.3 says.
func checkNameConstraints(chain []*x509.Certificate) error {
	for i := 1; i < len(chain); i++ {
		ca := chain[i]
		dc, present, err := readDirectoryConstraints(ca)
		if !present {
			continue
		}
		if err != nil {
			return Reject(ReasonUnknownIssuer, "name constraints of %q cannot be honoured: %v", ca.Subject.CommonName, err)
		}
		for j := 0; j < i; j++ {
			c := chain[j]
			if j > 0 && bytes.Equal(c.RawSubject, c.RawIssuer) {
				continue
			}
			if what := violates(ca, dc, c); what != "" {
				of := "the card" // its CN holds a fiscal code: not for logs
				if j > 0 {
					of = fmt.Sprintf("%q", c.Subject.CommonName)
				}
				return Reject(ReasonUnknownIssuer, "name constraints of %q exclude %s of %s", ca.Subject.CommonName, what, of)
			}
		}
	}
	return nil
}

// violates names what of c falls outside ca's constraints, or returns "".
func violates(ca *x509.Certificate, dc directoryConstraints, c *x509.Certificate) string {
	var subject pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawSubject, &subject); err != nil {
		return "the subject"
	}
	if !allowed(subject, dc.permitted, dc.excluded, withinDirectory) {
		return "the subject"
	}
	for _, d := range c.DNSNames {
		if !allowed(d, ca.PermittedDNSDomains, ca.ExcludedDNSDomains, withinDomain) {
			return "DNS name " + d
		}
	}
	for _, e := range c.EmailAddresses {
		if !allowed(e, ca.PermittedEmailAddresses, ca.ExcludedEmailAddresses, withinEmail) {
			return "e-mail address " + e
		}
	}
	for _, ip := range c.IPAddresses {
		if !allowed(ip, ca.PermittedIPRanges, ca.ExcludedIPRanges, func(ip net.IP, n *net.IPNet) bool { return n.Contains(ip) }) {
			return "IP address " + ip.String()
		}
	}
	for _, u := range c.URIs {
		if !allowed(u, ca.PermittedURIDomains, ca.ExcludedURIDomains, withinURI) {
			return "URI " + u.String()
		}
	}
	return ""
}

// allowed applies RFC 5280's rule: within one permitted subtree when any is
// given, and within no excluded one.
func allowed[N, C any](name N, permitted, excluded []C, within func(N, C) bool) bool {
	for _, x := range excluded {
		if within(name, x) {
			return false
		}
	}
	if len(permitted) == 0 {
		return true
	}
	for _, p := range permitted {
		if within(name, p) {
			return true
		}
	}
	return false
}

// withinDirectory reports whether name starts with the RDNs of base, values
// compared case-insensitively with inner spaces collapsed (RFC 5280 7.1).
func withinDirectory(name, base pkix.RDNSequence) bool {
	if len(base) > len(name) {
		return false
	}
	for i, rdn := range base {
		if len(rdn) != len(name[i]) {
			return false
		}
		for j, atv := range rdn {
			if !sameATV(atv, name[i][j]) {
				return false
			}
		}
	}
	return true
}

func sameATV(a, b pkix.AttributeTypeAndValue) bool {
	if !a.Type.Equal(b.Type) {
		return false
	}
	as, aok := a.Value.(string)
	bs, bok := b.Value.(string)
	if !aok || !bok {
		return fmt.Sprint(a.Value) == fmt.Sprint(b.Value)
	}
	fold := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	return strings.EqualFold(fold(as), fold(bs))
}

// withinDomain: "example.it" covers itself and its subdomains, ".example.it"
// only its subdomains.
func withinDomain(name, c string) bool {
	name, c = strings.ToLower(strings.TrimSuffix(name, ".")), strings.ToLower(c)
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(name, c)
	}
	return name == c || strings.HasSuffix(name, "."+c)
}

// withinEmail: a mailbox ("a@b.it") exactly, a host ("b.it") exactly, a
// domain (".b.it") by its subdomains.
func withinEmail(addr, c string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return false
	}
	if strings.Contains(c, "@") {
		return strings.EqualFold(addr, c)
	}
	host := strings.ToLower(addr[at+1:])
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(host, strings.ToLower(c))
	}
	return host == strings.ToLower(c)
}

func withinURI(u *url.URL, c string) bool {
	host := u.Hostname()
	if host == "" {
		return false
	}
	return withinDomain(host, c)
}
