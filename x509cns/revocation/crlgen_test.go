package revocation

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// crlSpec describes a CRL written byte by byte, for the shapes
// x509.CreateRevocationList cannot make (v1, no nextUpdate, critical or
// odd extensions, GeneralizedTime at will) and for the million-entry
// benchmark CRL, whose entries are streamed by writeEntries.
type crlSpec struct {
	version      int // 0: no version field (v1); otherwise the INTEGER written (1 = v2)
	issuer       *x509.Certificate
	key          crypto.Signer // RSA, signs with SHA-256
	thisUpdate   time.Time
	nextUpdate   time.Time // zero: absent
	generalized  bool      // GeneralizedTime for thisUpdate/nextUpdate
	number       *big.Int  // nil: no CRL number
	noAKI        bool
	exts         []pkix.Extension
	entries      []crlEntry
	emptyList    bool // write an empty revokedCertificates
	writeEntries func(b *cryptobyte.Builder)
}

type crlEntry struct {
	serial      *big.Int
	at          time.Time
	reason      int // -1: no reasonCode
	generalized bool
	exts        []pkix.Extension
}

var (
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidReasonCode    = asn1.ObjectIdentifier{2, 5, 29, 21}
)

func addTime(b *cryptobyte.Builder, t time.Time, generalized bool) {
	t = t.UTC()
	if !generalized && t.Year() >= 1950 && t.Year() < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
}

func addExtensions(b *cryptobyte.Builder, exts []pkix.Extension) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(e.Id)
				if e.Critical {
					b.AddASN1Boolean(true)
				}
				b.AddASN1OctetString(e.Value)
			})
		}
	})
}

func reasonExt(reason int) pkix.Extension {
	v, _ := asn1.Marshal(asn1.Enumerated(reason))
	return pkix.Extension{Id: oidReasonCode, Value: v}
}

// addEntry writes one revokedCertificates entry.
func addEntry(b *cryptobyte.Builder, e crlEntry) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(e.serial)
		addTime(b, e.at, e.generalized)
		exts := e.exts
		if e.reason >= 0 {
			exts = append([]pkix.Extension{reasonExt(e.reason)}, exts...)
		}
		if len(exts) > 0 {
			addExtensions(b, exts)
		}
	})
}

func (s crlSpec) tbs() ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if s.version != 0 {
			b.AddASN1Int64(int64(s.version))
		}
		addAlgID(b)
		b.AddBytes(s.issuer.RawSubject)
		addTime(b, s.thisUpdate, s.generalized)
		if !s.nextUpdate.IsZero() {
			addTime(b, s.nextUpdate, s.generalized)
		}
		if len(s.entries) > 0 || s.emptyList || s.writeEntries != nil {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range s.entries {
					addEntry(b, e)
				}
				if s.writeEntries != nil {
					s.writeEntries(b)
				}
			})
		}
		exts := append([]pkix.Extension(nil), s.exts...)
		if !s.noAKI && len(s.issuer.SubjectKeyId) > 0 {
			v, _ := asn1.Marshal(struct {
				ID []byte `asn1:"optional,tag:0"`
			}{s.issuer.SubjectKeyId})
			exts = append(exts, pkix.Extension{Id: oidAuthorityKeyID, Value: v})
		}
		if s.number != nil {
			v, _ := asn1.Marshal(s.number)
			exts = append(exts, pkix.Extension{Id: oidCRLNumber, Value: v})
		}
		if len(exts) > 0 {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				addExtensions(b, exts)
			})
		}
	})
	return b.Bytes()
}

func addAlgID(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidSHA256WithRSA)
		b.AddASN1NULL()
	})
}

// encode writes and signs the CRL.
func (s crlSpec) encode(tb testing.TB) []byte {
	tb.Helper()
	tbs, err := s.tbs()
	if err != nil {
		tb.Fatal(err)
	}
	sum := sha256.Sum256(tbs)
	sig, err := s.key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		tb.Fatal(err)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(sig)+64))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		addAlgID(b)
		b.AddASN1BitString(sig)
	})
	der, err := b.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	return der
}
