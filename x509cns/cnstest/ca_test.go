package cnstest_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func TestNewRegionalCA(t *testing.T) {
	ca, _ := shared(t)
	c := ca.Cert
	if got, want := c.Subject.String(), "CN=Regione Toscana - CA Cittadini,OU=Servizi di Certificazione,O=Actalis S.p.A.,C=IT"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got := attrTypes(t, c.RawSubject); !slices.Equal(got, []string{"C", "O", "OU", "CN"}) {
		t.Errorf("subject order = %v", got)
	}
	if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
		t.Error("regional CA is not self-signed")
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basicConstraints: CA=%v pathLen=%d zero=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("KeyUsage = %b", c.KeyUsage)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no SubjectKeyId")
	}
	if c.SignatureAlgorithm != x509.SHA256WithRSA || c.PublicKey.(*rsa.PublicKey).N.BitLen() != 2048 {
		t.Errorf("%v, %d bits", c.SignatureAlgorithm, c.PublicKey.(*rsa.PublicKey).N.BitLen())
	}
	if years := c.NotAfter.Sub(c.NotBefore).Hours() / 24 / 365; years < 9.9 || years > 10.1 || !c.NotBefore.Before(time.Now()) {
		t.Errorf("validity %v – %v", c.NotBefore, c.NotAfter)
	}
	if ca.Parent != nil || len(ca.Intermediates()) != 0 || ca.Root() != ca {
		t.Error("a regional CA is its own root")
	}
	if ps := policiesOf(t, c); len(ps) != 1 || !ps[0].OID.Equal(cnstest.OIDAnyPolicy) || ps[0].CPS == "" {
		t.Errorf("CA policies = %+v", ps)
	}
}

func TestRegionalCAOptions(t *testing.T) {
	now := time.Date(2015, 3, 1, 12, 0, 0, 0, time.UTC)
	nb, na := time.Date(2012, 11, 7, 10, 44, 1, 0, time.UTC), time.Date(2032, 11, 6, 10, 44, 1, 0, time.UTC)
	ca, err := cnstest.NewRegionalCA("ignored",
		cnstest.WithAdministration("Provincia Autonoma di Trento"),
		cnstest.WithProvider("Poste Italiane S.p.A."),
		cnstest.WithNow(func() time.Time { return now }),
		cnstest.WithValidity(nb, na),
		cnstest.WithSHA1(),
		cnstest.WithKeyBits(1024),
		cnstest.WithCAPolicies(),
	)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if got := c.Subject.CommonName; got != "Provincia Autonoma di Trento - CA Cittadini" {
		t.Errorf("CN = %q", got)
	}
	if got := c.Subject.Organization; !slices.Equal(got, []string{"Poste Italiane S.p.A."}) {
		t.Errorf("O = %q", got)
	}
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Errorf("validity %v – %v", c.NotBefore, c.NotAfter)
	}
	if c.SignatureAlgorithm != x509.SHA1WithRSA || ca.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Errorf("signature %v, CA default %v", c.SignatureAlgorithm, ca.SignatureAlgorithm)
	}
	if bits := c.PublicKey.(*rsa.PublicKey).N.BitLen(); bits != 1024 {
		t.Errorf("%d bits", bits)
	}
	if _, ok := extension(c, oidPolicies); ok {
		t.Error("WithCAPolicies() should drop the extension")
	}
	card, err := ca.IssueCard(cnstest.CardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if card.Cert.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Errorf("card of a SHA-1 CA signed with %v", card.Cert.SignatureAlgorithm)
	}
	if got := card.Cert.Subject.OrganizationalUnit; !slices.Equal(got, []string{"Provincia Autonoma di Trento"}) {
		t.Errorf("card OU = %q", got)
	}
	if !card.Cert.NotBefore.Equal(now.Add(-time.Hour)) || !card.Cert.NotAfter.Equal(now.Add(-time.Hour).AddDate(6, 0, 0)) {
		t.Errorf("card validity %v – %v, CA clock %v", card.Cert.NotBefore, card.Cert.NotAfter, now)
	}
}

func TestCIEChain(t *testing.T) {
	_, sub := shared(t)
	root := sub.Parent
	if root == nil || root.Parent != nil {
		t.Fatal("SUBCA1 must hang off the root")
	}
	if got := attrTypes(t, root.Cert.RawSubject); !slices.Equal(got, []string{"CN", "OU", "O", "C"}) {
		t.Errorf("CIE root subject order = %v", got)
	}
	if got := attr(t, sub.Cert.RawSubject, x509cns.OIDCommonName); !slices.Equal(got, []string{cnstest.CIESubCA1CN}) {
		t.Errorf("SUBCA1 CN = %q", got)
	}
	if got := attrTypes(t, sub.Cert.RawSubject); !slices.Equal(got, []string{"CN", "OU", "O", "C"}) {
		t.Errorf("SUBCA1 subject order = %v", got)
	}
	if root.Cert.MaxPathLen != -1 || sub.Cert.MaxPathLen != 0 || !sub.Cert.MaxPathLenZero {
		t.Errorf("pathLen root %d, sub %d", root.Cert.MaxPathLen, sub.Cert.MaxPathLen)
	}
	if err := sub.Cert.CheckSignatureFrom(root.Cert); err != nil {
		t.Error(err)
	}
	if !bytes.Equal(sub.Cert.AuthorityKeyId, root.Cert.SubjectKeyId) {
		t.Error("SUBCA1 AKI does not match root SKI")
	}
	if ps := policiesOf(t, sub.Cert); len(ps) != 1 || !ps[0].OID.Equal(cnstest.OIDPolicyCIESubCA) {
		t.Errorf("SUBCA1 policies %+v", ps)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{})
	if len(card.Chain) != 1 || card.Chain[0] != sub.Cert {
		t.Fatalf("chain = %v", card.Chain)
	}
	if err := verify(card, root.CertPool()); err != nil {
		t.Errorf("CIE card does not verify: %v", err)
	}
	if ps := policiesOf(t, card.Cert); len(ps) != 1 || !ps[0].OID.Equal(x509cns.OIDPolicyCIE) {
		t.Errorf("CIE card policies %+v", ps)
	}
	if tc := card.TLSCertificate(); len(tc.Certificate) != 2 || !bytes.Equal(tc.Certificate[1], sub.Cert.Raw) {
		t.Error("TLS certificate must carry leaf and SUBCA1")
	}
}

func TestSubCAOfRegionalRootDoesNotVerify(t *testing.T) {
	ca, _ := shared(t)
	sub, err := ca.NewSubCA("Sub of a pathLen 0 root")
	if err != nil {
		t.Fatal(err)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{})
	if err := verify(card, ca.CertPool()); err == nil {
		t.Error("pathLen 0 on the root must forbid an intermediate")
	}
}

func TestRekey(t *testing.T) {
	old, err := cnstest.NewRegionalCA("Lazio")
	if err != nil {
		t.Fatal(err)
	}
	next, err := old.Rekey()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old.Cert.RawSubject, next.Cert.RawSubject) {
		t.Error("re-keyed CA must keep the subject byte for byte")
	}
	if bytes.Equal(old.Cert.SubjectKeyId, next.Cert.SubjectKeyId) || old.Cert.SerialNumber.Cmp(next.Cert.SerialNumber) == 0 {
		t.Error("re-keyed CA must have a new SKI and serial")
	}
	if next.Cert.MaxPathLen != 0 || !next.Cert.MaxPathLenZero || next.Cert.KeyUsage != old.Cert.KeyUsage {
		t.Error("re-keyed CA lost its constraints")
	}
	cardOld, cardNew := old.MustIssueCard(cnstest.CardOptions{}), next.MustIssueCard(cnstest.CardOptions{})
	if !bytes.Equal(cardOld.Cert.AuthorityKeyId, old.Cert.SubjectKeyId) || !bytes.Equal(cardNew.Cert.AuthorityKeyId, next.Cert.SubjectKeyId) {
		t.Error("card AKI must match the SKI of the version that signed it")
	}
	if !bytes.Equal(cardOld.Cert.RawIssuer, cardNew.Cert.RawIssuer) {
		t.Error("both versions must produce the same issuer name")
	}
	if err := verify(cardNew, old.CertPool()); err == nil {
		t.Error("a card of the new key must not verify against the old key")
	}
	both := x509.NewCertPool()
	both.AddCert(old.Cert)
	both.AddCert(next.Cert)
	for _, c := range []*cnstest.Card{cardOld, cardNew} {
		if err := verify(c, both); err != nil {
			t.Errorf("with both versions trusted: %v", err)
		}
	}
}

func TestWriteCAFiles(t *testing.T) {
	toscana, sub := shared(t)
	dir := t.TempDir()
	paths, err := cnstest.WriteCAFiles(filepath.Join(dir, "trust"), toscana, sub.Parent, sub)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("paths = %v", paths)
	}
	for i, want := range []*x509.Certificate{toscana.Cert, sub.Parent.Cert, sub.Cert} {
		b, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" || !bytes.Equal(blk.Bytes, want.Raw) {
			t.Errorf("%s does not hold %s", paths[i], want.Subject.CommonName)
		}
	}
	if got := filepath.Base(paths[0]); got != cnstest.CAFileName(toscana.Cert) || !bytes.HasPrefix([]byte(got), []byte("Regione_Toscana_-_CA_Cittadini-")) {
		t.Errorf("file name %q", got)
	}
	card := sub.MustIssueCard(cnstest.CardOptions{})
	files, err := card.WriteFiles(dir, "mario")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(files[1]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	full, _ := os.ReadFile(files[2])
	if n := bytes.Count(full, []byte("BEGIN CERTIFICATE")); n != 2 {
		t.Errorf("fullchain holds %d certificates, want 2", n)
	}
}

func TestInjectedRandAndClock(t *testing.T) {
	at := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	issue := func() (*cnstest.CA, *cnstest.Card) {
		ca, err := cnstest.NewRegionalCA("Puglia",
			cnstest.WithRand(mrand.NewChaCha8([32]byte{1, 2, 3})),
			cnstest.WithNow(func() time.Time { return at }))
		if err != nil {
			t.Fatal(err)
		}
		return ca, ca.MustIssueCard(cnstest.CardOptions{})
	}
	ca1, c1 := issue()
	ca2, c2 := issue()
	if ca1.Cert.SerialNumber.Cmp(ca2.Cert.SerialNumber) != 0 || c1.Cert.SerialNumber.Cmp(c2.Cert.SerialNumber) != 0 {
		t.Error("serials must follow the injected Rand")
	}
	if c1.FiscalCode != c2.FiscalCode || c1.CardID != c2.CardID {
		t.Errorf("identities differ: %s %s", c1.FiscalCode, c2.FiscalCode)
	}
	if !ca1.Cert.NotBefore.Equal(at.AddDate(-1, 0, 0)) || !c1.Cert.NotBefore.Equal(at.Add(-time.Hour)) {
		t.Errorf("validity ignores the clock: %v, %v", ca1.Cert.NotBefore, c1.Cert.NotBefore)
	}
	sub, err := ca1.NewSubCA("Sub")
	if err != nil {
		t.Fatal(err)
	}
	if !sub.Cert.NotBefore.Equal(at.AddDate(-1, 0, 0)) {
		t.Errorf("sub-CA does not inherit the clock: %v", sub.Cert.NotBefore)
	}
}

func TestSHA1Inheritance(t *testing.T) {
	root, err := cnstest.NewCIERoot(cnstest.WithSHA1())
	if err != nil {
		t.Fatal(err)
	}
	sub, err := root.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Cert.SignatureAlgorithm != x509.SHA1WithRSA || sub.SignatureAlgorithm != x509.SHA1WithRSA {
		t.Errorf("sub of a SHA-1 root: cert %v, default %v", sub.Cert.SignatureAlgorithm, sub.SignatureAlgorithm)
	}
	root2, err := cnstest.NewCIERoot()
	if err != nil {
		t.Fatal(err)
	}
	sub2, err := root2.NewSubCA(cnstest.CIESubCA1CN, cnstest.WithSHA1())
	if err != nil {
		t.Fatal(err)
	}
	if sub2.Cert.SignatureAlgorithm != x509.SHA1WithRSA || root2.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Errorf("WithSHA1 on a sub: cert %v", sub2.Cert.SignatureAlgorithm)
	}
}
