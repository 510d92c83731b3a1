package x509cns

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// tslService is one TSPService of a trusted list, with the certificates of
// its current ServiceInformation and of its ServiceHistory instances.
type tslService struct {
	tsp, name, typ, status string
	certs                  []tslCert
}

type tslCert struct {
	der     []byte
	err     error // the X509Certificate element is not base64
	history bool  // from a ServiceHistoryInstance
}

// withdrawnStatuses are the ServiceStatus values (TS 119 612 v2, and the
// TS 102 231 v3 ones still found in older lists) that end the recognition
// of a service. LoadTSL skips such services unless KeepWithdrawn is set.
var withdrawnStatuses = []string{
	"http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn",
	"http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/deprecatedatnationallevel",
	"http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/deprecatedbynationallaw",
	"http://uri.etsi.org/TrstSvc/Svcstatus/supervisionceased",
	"http://uri.etsi.org/TrstSvc/Svcstatus/supervisionrevoked",
	"http://uri.etsi.org/TrstSvc/Svcstatus/accreditationceased",
	"http://uri.etsi.org/TrstSvc/Svcstatus/accreditationrevoked",
}

// parseTSLServices walks TrustServiceStatusList → TrustServiceProviderList
// → TrustServiceProvider → TSPServices → TSPService. Elements outside the
// TS 119 612 namespace are ignored.
func parseTSLServices(root *etree.Element) []tslService {
	var out []tslService
	for _, tsp := range tslChildren(tslChild(root, "TrustServiceProviderList"), "TrustServiceProvider") {
		tspName := tslName(tslChild(tslChild(tslChild(tsp, "TSPInformation"), "TSPName"), "Name"))
		for _, el := range tslChildren(tslChild(tsp, "TSPServices"), "TSPService") {
			info := tslChild(el, "ServiceInformation")
			svc := tslService{
				tsp:    tspName,
				name:   tslName(tslChild(tslChild(info, "ServiceName"), "Name")),
				typ:    tslText(tslChild(info, "ServiceTypeIdentifier")),
				status: tslText(tslChild(info, "ServiceStatus")),
			}
			seen := make(map[string]bool)
			svc.certs = digitalIDCerts(tslChild(info, "ServiceDigitalIdentity"), false, seen)
			for _, h := range tslChildren(tslChild(el, "ServiceHistory"), "ServiceHistoryInstance") {
				svc.certs = append(svc.certs, digitalIDCerts(tslChild(h, "ServiceDigitalIdentity"), true, seen)...)
			}
			out = append(out, svc)
		}
	}
	return out
}

// digitalIDCerts decodes the DigitalId/X509Certificate elements of a
// ServiceDigitalIdentity (X509SubjectName and X509SKI carry no certificate
// and are ignored). A certificate already listed for the service (history
// instances often repeat it) is left out.
func digitalIDCerts(sdi *etree.Element, history bool, seen map[string]bool) []tslCert {
	var out []tslCert
	for _, id := range tslChildren(sdi, "DigitalId") {
		for _, x := range tslChildren(id, "X509Certificate") {
			b64 := strings.Join(strings.Fields(x.Text()), "")
			der, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				out = append(out, tslCert{err: fmt.Errorf("X509Certificate is not base64: %v", err), history: history})
				continue
			}
			if seen[string(der)] {
				continue
			}
			seen[string(der)] = true
			out = append(out, tslCert{der: der, history: history})
		}
	}
	return out
}

// tslChildren returns the child elements of e (nil-safe) named local in
// the TS 119 612 namespace.
func tslChildren(e *etree.Element, local string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == tslNamespace {
			out = append(out, c)
		}
	}
	return out
}

func tslChild(e *etree.Element, local string) *etree.Element {
	if cs := tslChildren(e, local); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

func tslText(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Text())
}

// tslName returns the text of a multilingual Name, or "?" when absent.
func tslName(e *etree.Element) string {
	if t := tslText(e); t != "" {
		return t
	}
	return "?"
}

// TSLScheme is what a trusted list's SchemeInformation says of the list
// itself: which issue it is and until when it is meant to be current.
type TSLScheme struct {
	// SequenceNumber is TSLSequenceNumber: it grows with every issue, so
	// a list with a lower one than the list in use is an older issue.
	SequenceNumber int `json:"sequence_number"`
	// IssuedAt is ListIssueDateTime.
	IssuedAt time.Time `json:"list_issue_date_time"`
	// NextUpdate is NextUpdate/dateTime, the latest time the scheme
	// operator promises a new issue by; zero when the element is empty,
	// which TS 119 612 allows only for a list that will not be updated.
	NextUpdate time.Time `json:"next_update,omitempty"`
}

// parseTSLScheme reads SchemeInformation. TSLSequenceNumber and
// ListIssueDateTime are mandatory (TS 119 612 clauses 5.3.2 and 5.3.14);
// a list without them, or with a time that is not xsd:dateTime, is
// refused, since nothing could tell it from an older issue.
func parseTSLScheme(root *etree.Element) (*TSLScheme, error) {
	info := tslChild(root, "SchemeInformation")
	if info == nil {
		return nil, fmt.Errorf("%w: no SchemeInformation", ErrTSLInvalid)
	}
	var sc TSLScheme
	seq := tslText(tslChild(info, "TSLSequenceNumber"))
	n, err := strconv.Atoi(seq)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%w: TSLSequenceNumber %q is not a positive integer", ErrTSLInvalid, seq)
	}
	sc.SequenceNumber = n
	issued := tslText(tslChild(info, "ListIssueDateTime"))
	if sc.IssuedAt, err = time.Parse(time.RFC3339, issued); err != nil {
		return nil, fmt.Errorf("%w: ListIssueDateTime %q is not a date and time such as 2026-01-02T00:00:00Z", ErrTSLInvalid, issued)
	}
	if next := tslText(tslChild(tslChild(info, "NextUpdate"), "dateTime")); next != "" {
		if sc.NextUpdate, err = time.Parse(time.RFC3339, next); err != nil {
			return nil, fmt.Errorf("%w: NextUpdate %q is not a date and time such as 2026-07-02T00:00:00Z", ErrTSLInvalid, next)
		}
	}
	return &sc, nil
}
