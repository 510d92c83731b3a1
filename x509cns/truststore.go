package x509cns

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// TrustStore holds the trust anchors: the CA certificates an operator
// trusts to issue card certificates. An anchor need not be self-signed (the
// CIE SUBCA1 may be one) and every version of a re-keyed CA is kept, so that
// a card is matched to the key that signed it (AKI/SKI), not to its name.
//
// Expired anchors are stored too: validation happens "at a given time" (an
// inspect of an old certificate, an audit), so only the validator decides
// whether an anchor is valid for a check; the store merely records, in each
// AddResult, whether the anchor was usable when it was added.
//
// A TrustStore is safe for concurrent use (a RWMutex guards it). The intended
// life cycle is still: build a fresh store, load it completely, then publish
// it (for example with an atomic.Pointer swapped on SIGHUP) and only read it
// from then on, so that a login never sees a half-loaded store. The
// certificates handed out by Issuers and Anchors are the stored ones and
// must not be modified. The zero value is an empty store, as is
// NewTrustStore().
type TrustStore struct {
	// Now returns the current time, used to tell usable anchors from expired
	// ones when they are added and to check a TSL signer's validity. Nil
	// means time.Now. Set it before loading.
	Now func() time.Time

	// classify decides what a certificate added is; nil means
	// classifyAnchor. IntermediatePool indexes with classifyIntermediate.
	classify func(*x509.Certificate, time.Time) (CertStatus, string)

	mu        sync.RWMutex
	anchors   []*anchor            // insertion order
	byDER     map[string]*anchor   // key: raw DER
	bySKI     map[string][]*anchor // key: SubjectKeyId; newest NotBefore first
	bySubject map[string][]*anchor // key: RawSubject; newest NotBefore first
}

type anchor struct {
	cert   *x509.Certificate
	result AddResult
}

// NewTrustStore returns an empty store.
func NewTrustStore() *TrustStore {
	return &TrustStore{
		byDER:     make(map[string]*anchor),
		bySKI:     make(map[string][]*anchor),
		bySubject: make(map[string][]*anchor),
	}
}

func (s *TrustStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Add classifies cert (see classifyAnchor for the rule) and stores it unless
// it is skipped. source names where it came from (a file, a TSL service) and
// is only echoed in the result.
func (s *TrustStore) Add(cert *x509.Certificate, source string) AddResult {
	return s.add(cert, AddResult{Source: source})
}

// add is Add with the loader's own fields (source, service, parse notes)
// pre-filled in meta.
func (s *TrustStore) add(cert *x509.Certificate, meta AddResult) AddResult {
	if cert == nil {
		meta.Status, meta.Detail = StatusMalformed, joinDetail("nil certificate", meta.Detail)
		return meta
	}
	r := describe(cert, meta)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byDER == nil {
		s.byDER = make(map[string]*anchor)
		s.bySKI = make(map[string][]*anchor)
		s.bySubject = make(map[string][]*anchor)
	}
	if _, dup := s.byDER[string(cert.Raw)]; dup {
		r.Status, r.Detail = StatusDuplicate, joinDetail("same DER already in the store", meta.Detail)
		return r
	}
	classify := s.classify
	if classify == nil {
		classify = classifyAnchor
	}
	status, detail := classify(cert, s.now())
	r.Status, r.Detail = status, joinDetail(detail, meta.Detail)
	if !r.Status.Stored() {
		return r
	}
	a := &anchor{cert: cert, result: r}
	s.anchors = append(s.anchors, a)
	s.byDER[string(cert.Raw)] = a
	if len(cert.SubjectKeyId) > 0 {
		s.bySKI[string(cert.SubjectKeyId)] = insertSorted(s.bySKI[string(cert.SubjectKeyId)], a)
	}
	s.bySubject[string(cert.RawSubject)] = insertSorted(s.bySubject[string(cert.RawSubject)], a)
	return r
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// insertSorted keeps candidates newest NotBefore first; ties are broken on
// the raw DER so that the order never depends on the loading order.
func insertSorted(list []*anchor, a *anchor) []*anchor {
	list = append(list, a)
	slices.SortStableFunc(list, func(x, y *anchor) int {
		if c := y.cert.NotBefore.Compare(x.cert.NotBefore); c != 0 {
			return c
		}
		return bytes.Compare(x.cert.Raw, y.cert.Raw)
	})
	return list
}

// Issuers returns the anchors that may have issued cert, expired ones
// included: first those whose SubjectKeyId equals cert's AuthorityKeyId;
// when cert has no AKI or none matches, those whose subject equals cert's
// issuer (byte for byte). Within each group the newest NotBefore comes
// first. The AKI match does not also require the names to match (issuer
// names are sometimes re-encoded), so the caller must still check the
// signature, and the names if it wants RFC 5280 name chaining.
func (s *TrustStore) Issuers(cert *x509.Certificate) []*x509.Certificate {
	if cert == nil {
		return nil
	}
	return s.IssuersByName(cert.RawIssuer, cert.AuthorityKeyId)
}

// IssuersByName is Issuers for anything signed by a CA that names it by
// raw DER issuer and Authority Key Identifier, such as a CRL.
func (s *TrustStore) IssuersByName(rawIssuer, authorityKeyID []byte) []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []*anchor
	if len(authorityKeyID) > 0 {
		found = s.bySKI[string(authorityKeyID)]
	}
	if len(found) == 0 {
		found = s.bySubject[string(rawIssuer)]
	}
	out := make([]*x509.Certificate, 0, len(found))
	for _, a := range found {
		out = append(out, a.cert)
	}
	return out
}

// Contains reports whether cert (compared by raw DER) is a stored anchor.
func (s *TrustStore) Contains(cert *x509.Certificate) bool {
	if cert == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byDER[string(cert.Raw)]
	return ok
}

// Anchors returns every stored anchor, expired ones included, in the order
// they were added.
func (s *TrustStore) Anchors() []*x509.Certificate {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*x509.Certificate, len(s.anchors))
	for i, a := range s.anchors {
		out[i] = a.cert
	}
	return out
}

// Len returns the number of stored anchors.
func (s *TrustStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.anchors)
}

// Subjects returns the distinct raw subjects of the anchors that were usable
// when added (expired and not-yet-valid ones are left out), in the order
// they were added: the list a TLS CertificateRequest may advertise. Keep it
// short: a long list broke a real deployment (see DESIGN.md).
func (s *TrustStore) Subjects() [][]byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := make(map[string]bool)
	var out [][]byte
	for _, a := range s.anchors {
		if a.result.Status != StatusUsable || seen[string(a.cert.RawSubject)] {
			continue
		}
		seen[string(a.cert.RawSubject)] = true
		out = append(out, bytes.Clone(a.cert.RawSubject))
	}
	return out
}

// Entry returns the classification recorded when cert was added.
func (s *TrustStore) Entry(cert *x509.Certificate) (AddResult, bool) {
	if cert == nil {
		return AddResult{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.byDER[string(cert.Raw)]
	if !ok {
		return AddResult{}, false
	}
	return a.result, true
}

// describe fills the descriptive fields of an AddResult, keeping the
// loader's fields of meta.
func describe(c *x509.Certificate, meta AddResult) AddResult {
	name := c.Subject.CommonName
	if name == "" {
		name = c.Subject.String()
	}
	looks, hint := looksLikeCNSCA(c)
	meta.Subject = name
	meta.SKI = hex.EncodeToString(c.SubjectKeyId)
	meta.NotBefore, meta.NotAfter = c.NotBefore, c.NotAfter
	meta.LooksCNS, meta.CNSHint = looks, hint
	return meta
}
