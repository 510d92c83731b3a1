package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

// requireTool finds a command-line peer; under CI its absence is a failure,
// elsewhere the test is skipped with how to install it.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required under CI (apt-get install -y %s)", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install -y %s)", name, pkg)
	}
	return p
}

// opensslPKI builds CAs and cards with the openssl command line only, so
// that the validator is proven on encodings it did not produce.
type opensslPKI struct {
	t   *testing.T
	dir string
}

func (o *opensslPKI) run(args ...string) {
	o.t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = o.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		o.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (o *opensslPKI) write(name, content string) string {
	o.t.Helper()
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		o.t.Fatal(err)
	}
	return p
}

// newCA makes a self-signed "CA Cittadini" root with pathLen 0, like the
// real regional roots, and the files `openssl ca` needs.
func (o *opensslPKI) newCA(name, cn string) {
	o.t.Helper()
	caDir := filepath.Join(o.dir, name)
	for _, d := range []string{caDir, filepath.Join(caDir, "certs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			o.t.Fatal(err)
		}
	}
	o.write(name+"/index.txt", "")
	o.write(name+"/serial", "1000\n")
	o.write(name+"/ca.cnf", fmt.Sprintf(`[req]
prompt = no
distinguished_name = dn
x509_extensions = v3_ca
[dn]
C = IT
O = Poste Italiane S.p.A.
OU = Servizi di Certificazione
CN = %s
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
certificatePolicies = 2.5.29.32.0
[ca]
default_ca = this
[this]
dir = %s
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir/certs
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 2190
policy = anything
preserve = yes
unique_subject = no
copy_extensions = none
[anything]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
surname = optional
givenName = optional
serialNumber = optional
`, cn, caDir))
	o.run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
		"-keyout", name+"/ca.key", "-out", name+"/ca.pem", "-config", name+"/ca.cnf")
}

// cardSpec is one card to mint with `openssl ca`.
type cardSpec struct {
	dn        string // [dn] section body
	ext       string // [card] extension section body
	bits      int
	md        string // sha256 or sha1
	startDate string // YYYYMMDDHHMMSSZ, optional
	endDate   string
}

// trentoDN is the subject of a Trento TS-CNS authentication certificate.
func trentoDN(cn string) string {
	return "C = IT\nO = TS-CNS\nOU = Provincia Autonoma di Trento\nCN = " + cn + "\nSN = ROSSI\nGN = MARIO\n"
}

// cnsExt is the TS-CNS authentication profile: policy 1.3.76.16.2.1 with its
// CPS and user notice, KU digitalSignature (critical), EKU clientAuth.
const cnsExt = `basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://127.0.0.1:9/trento.crl
certificatePolicies = ia5org, @cns_policy
[cns_policy]
policyIdentifier = 1.3.76.16.2.1
CPS.1 = http://www.provincia.tn.it/cns/cps.pdf
userNotice.1 = @cns_notice
[cns_notice]
explicitText = "Identifies X.509 authentication certificates issued for the italian National Service Card (CNS) project in according to the italian regulation"
`

func (o *opensslPKI) issue(ca, name string, s cardSpec) string {
	o.t.Helper()
	if s.bits == 0 {
		s.bits = 2048
	}
	if s.md == "" {
		s.md = "sha256"
	}
	o.write(name+".cnf", "[req]\nprompt = no\ndistinguished_name = dn\nstring_mask = utf8only\n[dn]\n"+s.dn+"[card]\n"+s.ext)
	o.run("req", "-new", "-newkey", fmt.Sprintf("rsa:%d", s.bits), "-nodes", "-keyout", name+".key",
		"-out", name+".csr", "-config", name+".cnf")
	args := []string{"ca", "-batch", "-notext", "-utf8", "-preserveDN", "-config", ca + "/ca.cnf",
		"-extfile", name + ".cnf", "-extensions", "card", "-md", s.md, "-in", name + ".csr", "-out", name + ".pem"}
	if s.startDate != "" {
		args = append(args, "-startdate", s.startDate, "-enddate", s.endDate)
	}
	o.run(args...)
	return filepath.Join(o.dir, name+".pem")
}

// TestInspectOpenSSLTrentoCard mints a Trento TS-CNS card with openssl and
// checks that `cnsgate inspect` accepts it with the right fields, and that
// variations outside the profile are refused with the right reason.
func TestInspectOpenSSLTrentoCard(t *testing.T) {
	requireTool(t, "openssl", "openssl")
	o := &opensslPKI{t: t, dir: t.TempDir()}
	o.newCA("trento", "Provincia Autonoma di Trento - CA Cittadini")
	o.newCA("other", "Regione Toscana - CA Cittadini") // never trusted
	trust := filepath.Join(o.dir, "trust")
	if err := os.MkdirAll(trust, 0o755); err != nil {
		t.Fatal(err)
	}
	pemCA, err := os.ReadFile(filepath.Join(o.dir, "trento", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	o.write("trust/trento.pem", string(pemCA))

	const cf = "RSSMRA85T10A562S"
	cardID := "603800000000001"
	cardID += string(x509cns.LuhnCheckDigit(cardID))
	hash := "ab/cd+ef/gh+ijklmnopqrstuvw=" // base64 with '/' and '+', as on real cards
	goodCN := cf + "/" + cardID + "." + hash

	tests := []struct {
		name  string
		ca    string
		spec  cardSpec
		flags []string
		want  string // reason, "" for accepted
	}{
		{name: "ok/trento-ts-cns", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt}},
		{name: "ok/rsa-1024-sha1-old-card-when-allowed", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt, bits: 1024, md: "sha1"},
			flags: []string{"--allow-sha1", "--min-rsa-bits", "1024"}},
		{name: "fail/unknown-issuer", ca: "other", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt}, want: "unknown_issuer"},
		{name: "fail/expired", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt, startDate: "20100101000000Z", endDate: "20160101000000Z"}, want: "expired"},
		{name: "fail/no-policy", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: strings.Replace(cnsExt, "certificatePolicies = ia5org, @cns_policy\n", "", 1)}, want: "bad_policy"},
		{name: "fail/signature-policy-only", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: strings.Replace(cnsExt, "1.3.76.16.2.1", "1.3.76.16.1.1", 1)}, want: "bad_policy"},
		{name: "fail/non-repudiation-only", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: strings.Replace(cnsExt, "critical, digitalSignature", "critical, nonRepudiation", 1)}, want: "bad_key_usage"},
		{name: "fail/server-auth-eku", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: strings.Replace(cnsExt, "extendedKeyUsage = clientAuth", "extendedKeyUsage = serverAuth", 1)}, want: "bad_ext_key_usage"},
		{name: "fail/rsa-1024", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt, bits: 1024}, want: "weak_key"},
		{name: "fail/sha1", ca: "trento", spec: cardSpec{dn: trentoDN(goodCN), ext: cnsExt, md: "sha1"}, want: "weak_signature"},
		{name: "fail/check-char", ca: "trento", spec: cardSpec{dn: trentoDN("RSSMRA85T10A562T/" + cardID + "." + hash), ext: cnsExt}, want: "bad_fiscal_code"},
		{name: "fail/luhn", ca: "trento", spec: cardSpec{dn: trentoDN(cf + "/6038000000000019." + hash), ext: cnsExt}, want: "bad_card_id"},
		{name: "fail/name-only-cn", ca: "trento", spec: cardSpec{dn: "C = IT\nO = TS-CNS\nCN = MARIO ROSSI\n", ext: cnsExt}, want: "no_fiscal_code"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o.t = t
			certFile := o.issue(tt.ca, fmt.Sprintf("card%d", i), tt.spec)
			var stdout, stderr bytes.Buffer
			args := append([]string{"inspect", "--trust", trust}, tt.flags...)
			code := run(context.Background(), append(args, certFile), &stdout, &stderr)
			var rep inspectReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("exit %d, output is not JSON: %v\n%s%s", code, err, stdout.String(), stderr.String())
			}
			if tt.want == "" {
				if code != 0 || rep.Verdict != "accepted" {
					t.Fatalf("exit %d, report %+v", code, rep)
				}
				if rep.FiscalCode != cf || rep.CardID != cardID || rep.CardType != "regional" || rep.GivenName != "MARIO" ||
					rep.FamilyName != "ROSSI" || rep.Region != "Provincia Autonoma di Trento" ||
					rep.Issuer != "Provincia Autonoma di Trento - CA Cittadini" || len(rep.Policies) != 1 || rep.Policies[0] != "1.3.76.16.2.1" || rep.NotAfter == "" {
					t.Fatalf("fields: %+v", rep)
				}
				return
			}
			if code != 1 || rep.Verdict != "rejected" || rep.Reason != tt.want {
				t.Fatalf("exit %d, verdict %s reason %s (%s); want rejected/%s", code, rep.Verdict, rep.Reason, rep.Detail, tt.want)
			}
		})
	}
}

// TestInspectRevocationOpenSSLCRL revokes a card with `openssl ca -revoke`,
// publishes the CRL with `openssl ca -gencrl`, and checks that inspect
// reports one card revoked and another good.
func TestInspectRevocationOpenSSLCRL(t *testing.T) {
	requireTool(t, "openssl", "openssl")
	o := &opensslPKI{t: t, dir: t.TempDir()}
	o.newCA("trento", "Provincia Autonoma di Trento - CA Cittadini")
	o.write("trento/crlnumber", "01\n")
	trust := filepath.Join(o.dir, "trust")
	os.MkdirAll(trust, 0o755)
	pemCA, _ := os.ReadFile(filepath.Join(o.dir, "trento", "ca.pem"))
	o.write("trust/trento.pem", string(pemCA))
	cardID := "603800000000002"
	cardID += string(x509cns.LuhnCheckDigit(cardID))
	good := o.issue("trento", "good", cardSpec{dn: trentoDN("RSSMRA85T10A562S/" + cardID + ".aa/bb+cc="), ext: cnsExt})
	lost := o.issue("trento", "lost", cardSpec{dn: trentoDN("RSSMRA80A01H501U/" + cardID + ".dd/ee+ff="), ext: cnsExt})
	// The CA configuration needs crlnumber for -gencrl.
	cnf, _ := os.ReadFile(filepath.Join(o.dir, "trento", "ca.cnf"))
	o.write("trento/ca.cnf", strings.Replace(string(cnf), "policy = anything\n", "policy = anything\ncrlnumber = $dir/crlnumber\ndefault_crl_days = 7\n", 1))
	o.run("ca", "-config", "trento/ca.cnf", "-revoke", lost, "-crl_reason", "keyCompromise")
	o.run("ca", "-config", "trento/ca.cnf", "-gencrl", "-out", "trento.crl")
	crl := filepath.Join(o.dir, "trento.crl")

	for _, tt := range []struct {
		cert, verdict, reason, result string
		code                          int
	}{
		{good, "accepted", "", "good", 0},
		{lost, "rejected", "revoked", "revoked", 1},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"inspect", "--trust", trust, "--revocation", "crl", "--crl", crl, tt.cert}, &stdout, &stderr)
		var rep inspectReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%s: %v\n%s%s", tt.cert, err, stdout.String(), stderr.String())
		}
		if code != tt.code || rep.Verdict != tt.verdict || rep.Reason != tt.reason || rep.Revocation == nil ||
			rep.Revocation.Result != tt.result || rep.Revocation.Method != "crl" {
			t.Fatalf("%s: exit %d, %+v %+v", filepath.Base(tt.cert), code, rep, rep.Revocation)
		}
	}
}
