package cnstest

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/cnsgate/cnsgate/x509cns"
)

// Policy is one PolicyInformation of a certificatePolicies extension
// (RFC 5280 §4.2.1.4), with the two qualifiers real CNS certificates carry.
// crypto/x509 can only write bare policy OIDs, so cnstest encodes the
// extension itself and passes it in ExtraExtensions.
type Policy struct {
	OID asn1.ObjectIdentifier // the policy identifier
	// CPS, if not empty, becomes an id-qt-cps qualifier (IA5String URI).
	CPS string
	// UserNotice, if not empty, becomes an id-qt-unotice qualifier whose
	// explicitText is this UTF8String.
	UserNotice string
}

// CNSUserNotice is the explicitText of the user notice on real TS-CNS
// authentication certificates, spelling included.
const CNSUserNotice = "Identifies X.509 authentication certificates issued for the italian National Service Card (CNS) project in according to the italian regulation"

// Placeholder CPS addresses under the reserved .test top-level domain.
const (
	CNSPolicyCPS = "http://ca.cnsgate.test/cps/cns.pdf"
	CIEPolicyCPS = "http://ca.cnsgate.test/cps/cie.pdf"
)

// OIDAnyPolicy is the anyPolicy identifier (2.5.29.32.0), found on some
// regional CA certificates.
var OIDAnyPolicy = asn1.ObjectIdentifier{2, 5, 29, 32, 0}

// Policies of the CIE CA certificates (root and SUBCA1), as on the real ones.
var (
	OIDPolicyCIERoot  = asn1.ObjectIdentifier{1, 3, 76, 47, 1}
	OIDPolicyCIESubCA = asn1.ObjectIdentifier{1, 3, 76, 47, 2}
)

var (
	oidExtCertificatePolicies = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidQualifierCPS           = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}
	oidQualifierUserNotice    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 2}
)

// CNSPolicy returns the policy of a TS-CNS authentication certificate:
// 1.3.76.16.2.1 with a CPS URI and the CNS user notice.
func CNSPolicy() Policy {
	return Policy{OID: x509cns.OIDPolicyCNS, CPS: CNSPolicyCPS, UserNotice: CNSUserNotice}
}

// CIEPolicy returns the policy of a CIE authentication certificate,
// 1.3.76.47.4 with a CPS URI.
func CIEPolicy() Policy {
	return Policy{OID: x509cns.OIDPolicyCIE, CPS: CIEPolicyCPS}
}

type policyInformation struct {
	ID         asn1.ObjectIdentifier
	Qualifiers []policyQualifierInfo `asn1:"optional,omitempty"`
}

type policyQualifierInfo struct {
	ID        asn1.ObjectIdentifier
	Qualifier asn1.RawValue
}

type userNotice struct {
	ExplicitText string `asn1:"utf8"`
}

// PoliciesExtension encodes policies as a non-critical certificatePolicies
// extension, ready for x509.Certificate.ExtraExtensions.
func PoliciesExtension(policies ...Policy) (pkix.Extension, error) {
	if len(policies) == 0 {
		return pkix.Extension{}, errors.New("cnstest: certificatePolicies needs at least one policy")
	}
	infos := make([]policyInformation, 0, len(policies))
	for _, p := range policies {
		info := policyInformation{ID: p.OID}
		if p.CPS != "" {
			b, err := asn1.MarshalWithParams(p.CPS, "ia5")
			if err != nil {
				return pkix.Extension{}, fmt.Errorf("cnstest: CPS %q: %w", p.CPS, err)
			}
			info.Qualifiers = append(info.Qualifiers, policyQualifierInfo{ID: oidQualifierCPS, Qualifier: asn1.RawValue{FullBytes: b}})
		}
		if p.UserNotice != "" {
			b, err := asn1.Marshal(userNotice{ExplicitText: p.UserNotice})
			if err != nil {
				return pkix.Extension{}, fmt.Errorf("cnstest: user notice: %w", err)
			}
			info.Qualifiers = append(info.Qualifiers, policyQualifierInfo{ID: oidQualifierUserNotice, Qualifier: asn1.RawValue{FullBytes: b}})
		}
		infos = append(infos, info)
	}
	der, err := asn1.Marshal(infos)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("cnstest: certificatePolicies: %w", err)
	}
	return pkix.Extension{Id: oidExtCertificatePolicies, Value: der}, nil
}

// ParsePolicies decodes a certificatePolicies extension value back into
// Policies (CPS and user-notice explicitText; other qualifiers and notice
// references are skipped). It lets tests read what crypto/x509 does not.
func ParsePolicies(extValue []byte) ([]Policy, error) {
	var infos []policyInformation
	rest, err := asn1.Unmarshal(extValue, &infos)
	if err != nil {
		return nil, fmt.Errorf("cnstest: certificatePolicies: %w", err)
	}
	if len(rest) > 0 {
		return nil, errors.New("cnstest: certificatePolicies: trailing data")
	}
	out := make([]Policy, 0, len(infos))
	for _, info := range infos {
		p := Policy{OID: info.ID}
		for _, q := range info.Qualifiers {
			switch {
			case q.ID.Equal(oidQualifierCPS):
				p.CPS = string(q.Qualifier.Bytes)
			case q.ID.Equal(oidQualifierUserNotice):
				var notice struct {
					Ref  asn1.RawValue `asn1:"optional"`
					Text asn1.RawValue `asn1:"optional"`
				}
				if _, err := asn1.Unmarshal(q.Qualifier.FullBytes, &notice); err != nil {
					return nil, fmt.Errorf("cnstest: user notice: %w", err)
				}
				// The optional noticeRef is a SEQUENCE; explicitText a string.
				text := notice.Text
				if notice.Ref.Tag != asn1.TagSequence {
					text = notice.Ref
				}
				p.UserNotice = string(text.Bytes)
			}
		}
		out = append(out, p)
	}
	return out, nil
}
