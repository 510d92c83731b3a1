package idp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// proxyTestPKI holds a regional card (leaf only: its CA is the root) and a
// CIE card with its SUBCA1 intermediate, minted once for all proxy tests.
type proxyTestPKI struct {
	regional, cie *cnstest.Card
	cieRoot       *x509.Certificate
}

var proxyPKI = sync.OnceValues(func() (proxyTestPKI, error) {
	reg, err := cnstest.NewRegionalCA("Toscana")
	if err != nil {
		return proxyTestPKI{}, err
	}
	root, err := cnstest.NewCIERoot()
	if err != nil {
		return proxyTestPKI{}, err
	}
	sub, err := root.NewSubCA(cnstest.CIESubCA1CN)
	if err != nil {
		return proxyTestPKI{}, err
	}
	return proxyTestPKI{
		regional: reg.MustIssueCard(cnstest.CardOptions{}),
		cie:      sub.MustIssueCard(cnstest.CardOptions{}),
		cieRoot:  root.Cert,
	}, nil
})

func mustProxyPKI(tb testing.TB) proxyTestPKI {
	tb.Helper()
	p, err := proxyPKI()
	if err != nil {
		tb.Fatal(err)
	}
	if len(p.regional.Chain) != 0 || len(p.cie.Chain) != 1 {
		tb.Fatalf("unexpected test PKI: regional chain %d, CIE chain %d", len(p.regional.Chain), len(p.cie.Chain))
	}
	return p
}

// sfBin is an RFC 8941 byte sequence of c's DER.
func sfBin(c *x509.Certificate) string { return ":" + base64.StdEncoding.EncodeToString(c.Raw) + ":" }

func pemOf(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	}
	return b.String()
}

// escapeAll percent-encodes every byte but the unreserved ones, as nginx's
// $ssl_client_escaped_cert and Envoy's Cert do ('+' becomes %2B).
func escapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

type proxyChainCase struct {
	name   string
	h      http.Header
	want   []*x509.Certificate // ok cases; nil with no detail: no certificate
	detail string              // fail cases: a substring of the Rejection
	reason x509cns.Reason      // fail cases: default x509cns.ReasonMalformed
}

func runProxyChainCases(t *testing.T, tp *TrustedProxies, cases []proxyChainCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tp.Chain(tc.h)
			if tc.detail != "" {
				want := tc.reason
				if want == "" {
					want = x509cns.ReasonMalformed
				}
				var rej *x509cns.Rejection
				if !errors.As(err, &rej) || rej.Reason != want {
					t.Fatalf("err = %v, want a %s rejection", err, want)
				}
				if !strings.Contains(err.Error(), tc.detail) {
					t.Errorf("err = %q, want it to contain %q", err, tc.detail)
				}
				if got != nil {
					t.Errorf("got %d certificates with an error", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d certificates, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i].Raw, tc.want[i].Raw) {
					t.Errorf("certificate %d is %q, want %q", i, got[i].Subject, tc.want[i].Subject)
				}
			}
		})
	}
}

func TestProxyRFC9440Chain(t *testing.T) {
	p := mustProxyPKI(t)
	reg, cie, sub, root := p.regional.Cert, p.cie.Cert, p.cie.Chain[0], p.cieRoot
	regB64 := base64.StdEncoding.EncodeToString(reg.Raw)
	if !strings.Contains(regB64, "+") {
		t.Fatal("test certificate's base64 has no '+'; the '+' cases prove nothing")
	}
	seven := strings.TrimSuffix(strings.Repeat(sfBin(sub)+", ", 7), ", ")
	eight := seven + ", " + sfBin(sub)
	big := ":" + strings.Repeat("A", 40<<10) + ":"
	cases := []proxyChainCase{
		{name: "ok/no-header"},
		{name: "ok/regional-card", h: hdr(ClientCertHeader, sfBin(reg)), want: []*x509.Certificate{reg}},
		{name: "ok/plus-in-base64", h: hdr(ClientCertHeader, ":"+regB64+":"), want: []*x509.Certificate{reg}},
		{name: "ok/padding-omitted", h: hdr(ClientCertHeader, ":"+base64.RawStdEncoding.EncodeToString(reg.Raw)+":"), want: []*x509.Certificate{reg}},
		{name: "ok/surrounding-spaces", h: hdr(ClientCertHeader, "  "+sfBin(reg)+" "), want: []*x509.Certificate{reg}},
		{name: "ok/cie-with-subca1", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)), want: []*x509.Certificate{cie, sub}},
		{name: "ok/cie-chain-with-root", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)+",\t "+sfBin(root)), want: []*x509.Certificate{cie, sub, root}},
		{name: "ok/chain-over-two-lines", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub), ClientCertChainHeader, sfBin(root)), want: []*x509.Certificate{cie, sub, root}},
		{name: "ok/empty-chain-list", h: hdr(ClientCertHeader, sfBin(reg), ClientCertChainHeader, ""), want: []*x509.Certificate{reg}},
		{name: "ok/eight-certificates", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, seven), want: append([]*x509.Certificate{cie}, sub, sub, sub, sub, sub, sub, sub)},

		{name: "fail/bare-base64", h: hdr(ClientCertHeader, regB64), detail: "Client-Cert: not a colon-delimited byte sequence"},
		{name: "fail/unterminated", h: hdr(ClientCertHeader, ":"+regB64), detail: "Client-Cert: not a colon-delimited byte sequence"},
		{name: "fail/pem-in-rfc9440", h: hdr(ClientCertHeader, escapeAll(pemOf(reg))), detail: "not a colon-delimited byte sequence"},
		{name: "fail/base64url", h: hdr(ClientCertHeader, ":"+strings.NewReplacer("+", "-", "/", "_").Replace(regB64)+":"), detail: "outside standard base64"},
		{name: "fail/space-inside", h: hdr(ClientCertHeader, ":"+regB64[:40]+" "+regB64[40:]+":"), detail: "outside standard base64"},
		{name: "fail/newline-inside", h: hdr(ClientCertHeader, ":"+regB64[:64]+"\n"+regB64[64:]+":"), detail: "outside standard base64"},
		{name: "fail/padding-in-middle", h: hdr(ClientCertHeader, ":"+regB64[:40]+"="+regB64[40:]+":"), detail: "not standard base64"},
		{name: "fail/extra-padding", h: hdr(ClientCertHeader, ":"+base64.RawStdEncoding.EncodeToString(reg.Raw)+"===:"), detail: "not standard base64"},
		{name: "fail/empty-byte-sequence", h: hdr(ClientCertHeader, "::"), detail: "Client-Cert: empty byte sequence"},
		{name: "fail/empty-value", h: hdr(ClientCertHeader, ""), detail: "Client-Cert: not a colon-delimited byte sequence"},
		{name: "fail/parameters", h: hdr(ClientCertHeader, sfBin(reg)+";a=1"), detail: "parameters and lists are not allowed"},
		{name: "fail/list-in-client-cert", h: hdr(ClientCertHeader, sfBin(reg)+", "+sfBin(reg)), detail: "parameters and lists are not allowed"},
		{name: "fail/two-client-cert-lines", h: hdr(ClientCertHeader, sfBin(reg), ClientCertHeader, sfBin(reg)), detail: "Client-Cert: 2 field lines"},
		{name: "fail/not-der", h: hdr(ClientCertHeader, ":aGVsbG8=:"), detail: "Client-Cert: DER certificate"},
		{name: "fail/chain-without-cert", h: hdr(ClientCertChainHeader, sfBin(sub)), detail: "Client-Cert-Chain: present without Client-Cert"},
		{name: "fail/chain-trailing-comma", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)+","), detail: "Client-Cert-Chain: trailing comma"},
		{name: "fail/chain-no-comma", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)+" "+sfBin(root)), detail: "after member 1"},
		{name: "fail/chain-parameters", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)+";x"), detail: "parameters are not allowed"},
		{name: "fail/chain-inner-list", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, "("+sfBin(sub)+")"), detail: "member 1: not a colon-delimited byte sequence"},
		{name: "fail/chain-leading-tab", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, "\t"+sfBin(sub)), detail: "member 1: not a colon-delimited"},
		{name: "fail/chain-member-not-der", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, sfBin(sub)+", :AAAA:"), detail: "Client-Cert-Chain: member 2: DER certificate"},
		{name: "fail/chain-too-long", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, eight), detail: "9 certificates with the leaf, over the limit of 8", reason: x509cns.ReasonChainTooLong},
		{name: "fail/cert-too-large", h: hdr(ClientCertHeader, ":"+strings.Repeat("A", MaxProxyHeaderBytes)+":"), detail: "Client-Cert: 65538 bytes, over the 65536-byte limit"},
		{name: "fail/chain-lines-too-large", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, big, ClientCertChainHeader, big), detail: "Client-Cert-Chain: 81926 bytes, over"},
	}
	tp, err := NewTrustedProxies(nil, ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	tp.MaxIntermediates = 7 // the most a header is read for
	runProxyChainCases(t, tp, cases)

	// trust.max_intermediates (default 4) caps proxy chains as it caps the
	// card listener's (issue 13, item 12c).
	def, err := NewTrustedProxies(nil, ProxyRFC9440)
	if err != nil {
		t.Fatal(err)
	}
	runProxyChainCases(t, def, []proxyChainCase{
		{name: "ok/default-four-intermediates", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, strings.Join([]string{sfBin(sub), sfBin(sub), sfBin(sub), sfBin(sub)}, ", ")),
			want: []*x509.Certificate{cie, sub, sub, sub, sub}},
		{name: "fail/default-five-intermediates", h: hdr(ClientCertHeader, sfBin(cie), ClientCertChainHeader, strings.Join([]string{sfBin(sub), sfBin(sub), sfBin(sub), sfBin(sub), sfBin(root)}, ", ")),
			detail: "Client-Cert-Chain: 6 certificates with the leaf, over the limit of 5", reason: x509cns.ReasonChainTooLong},
	})
}

func TestProxyNginxChain(t *testing.T) {
	p := mustProxyPKI(t)
	reg, cie, sub, root := p.regional.Cert, p.cie.Cert, p.cie.Chain[0], p.cieRoot
	literalPlus := url.PathEscape(pemOf(reg)) // leaves '+' and '=' unescaped
	if !strings.Contains(literalPlus, "+") || !strings.Contains(escapeAll(pemOf(reg)), "%2B") {
		t.Fatal("test certificate's PEM has no '+'; the '+' cases prove nothing")
	}
	if got := string(p.regional.CertPEM()); got != pemOf(reg) {
		t.Fatal("pemOf differs from cnstest's CertPEM")
	}
	eightSubs := escapeAll(pemOf(sub, sub, sub, sub, sub, sub, sub, sub))
	cases := []proxyChainCase{
		{name: "ok/no-header"},
		{name: "ok/empty-value", h: hdr(DefaultNginxCertHeader, ""), want: nil},
		{name: "ok/regional-card", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg))), want: []*x509.Certificate{reg}},
		{name: "ok/literal-plus-kept", h: hdr(DefaultNginxCertHeader, literalPlus), want: []*x509.Certificate{reg}},
		{name: "ok/cnstest-cert-pem", h: hdr(DefaultNginxCertHeader, escapeAll(string(p.cie.CertPEM())), DefaultNginxChainHeader, escapeAll(string(p.cie.ChainPEM()))), want: []*x509.Certificate{cie, sub}},
		{name: "ok/cie-chain-with-root", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie)), DefaultNginxChainHeader, escapeAll(pemOf(sub, root))), want: []*x509.Certificate{cie, sub, root}},
		{name: "ok/chain-repeats-leaf", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie)), DefaultNginxChainHeader, escapeAll(pemOf(cie, sub))), want: []*x509.Certificate{cie, sub}},
		{name: "ok/lowercase-hex", h: hdr(DefaultNginxCertHeader, strings.ReplaceAll(escapeAll(pemOf(reg)), "%0A", "%0a")), want: []*x509.Certificate{reg}},

		{name: "fail/form-encoded-space", h: hdr(DefaultNginxCertHeader, url.QueryEscape(pemOf(reg))), detail: "X-SSL-Client-Cert: value is not URL-escaped PEM (block 1: no BEGIN line)"},
		{name: "fail/bad-escape", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg))[:30]+"%zz"), detail: "X-SSL-Client-Cert: value is not URL-escaped PEM (invalid URL escape"},
		{name: "fail/base64-der", h: hdr(DefaultNginxCertHeader, base64.StdEncoding.EncodeToString(reg.Raw)), detail: "not URL-escaped PEM"},
		{name: "fail/truncated", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg)[:500])), detail: "block 1 does not decode"},
		{name: "fail/two-certificates", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie, sub))), detail: "2 certificates; one expected"},
		{name: "fail/private-key", h: hdr(DefaultNginxCertHeader, escapeAll(string(p.regional.KeyPEM()))), detail: `block 1 is "PRIVATE KEY"`},
		{name: "fail/trailing-garbage", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg)+"junk")), detail: "block 2: no BEGIN line"},
		{name: "fail/not-der", h: hdr(DefaultNginxCertHeader, escapeAll(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("hello")})))), detail: "X-SSL-Client-Cert: certificate"},
		{name: "fail/two-lines", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg)), DefaultNginxCertHeader, escapeAll(pemOf(reg))), detail: "2 field lines"},
		{name: "fail/two-chain-lines", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie)), DefaultNginxChainHeader, escapeAll(pemOf(sub)), DefaultNginxChainHeader, escapeAll(pemOf(sub))), detail: "X-SSL-Client-Chain: 2 field lines"},
		{name: "fail/chain-without-cert", h: hdr(DefaultNginxChainHeader, escapeAll(pemOf(sub))), detail: "X-SSL-Client-Chain: present without X-SSL-Client-Cert"},
		{name: "fail/chain-not-pem", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie)), DefaultNginxChainHeader, "hello"), detail: "X-SSL-Client-Chain: value is not URL-escaped PEM"},
		{name: "fail/chain-too-long", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(cie)), DefaultNginxChainHeader, eightSubs), detail: "9 certificates with the leaf", reason: x509cns.ReasonChainTooLong},
		{name: "fail/too-large", h: hdr(DefaultNginxCertHeader, strings.Repeat("%0A", 22000)), detail: "X-SSL-Client-Cert: 66000 bytes, over the 65536-byte limit"},
	}
	tp, err := NewTrustedProxies(nil, ProxyNginx)
	if err != nil {
		t.Fatal(err)
	}
	tp.MaxIntermediates = 7 // the most a header is read for
	runProxyChainCases(t, tp, cases)

	custom, err := NewTrustedProxies(nil, ProxyNginx)
	if err != nil {
		t.Fatal(err)
	}
	custom.NginxCertHeader, custom.NginxChainHeader = "X-Client-Cert", "X-Client-Intermediates"
	runProxyChainCases(t, custom, []proxyChainCase{
		{name: "ok/custom-names", h: hdr("X-Client-Cert", escapeAll(pemOf(cie)), "X-Client-Intermediates", escapeAll(pemOf(sub))), want: []*x509.Certificate{cie, sub}},
		{name: "ok/default-name-ignored", h: hdr(DefaultNginxCertHeader, escapeAll(pemOf(reg)))},
		{name: "fail/custom-chain-without-cert", h: hdr("X-Client-Intermediates", escapeAll(pemOf(sub))), detail: "X-Client-Intermediates: present without X-Client-Cert"},
	})
}

func xfccElem(pairs ...string) string { return strings.Join(pairs, ";") }

func TestProxyXFCCChain(t *testing.T) {
	p := mustProxyPKI(t)
	reg, cie, sub, root := p.regional.Cert, p.cie.Cert, p.cie.Chain[0], p.cieRoot
	by := "By=spiffe://cnsgate.example/envoy"
	hash := "Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688"
	subject := `Subject="CN=RSSMRA80A01H501U/6090000000000017.a+b/c\"d=,OU=Regione Toscana,O=TS-CNS,C=IT"`
	regElem := xfccElem(by, hash, "Cert="+escapeAll(pemOf(reg)), subject, "URI=", "DNS=a.example", "DNS=b.example")
	cieElem := xfccElem(by, hash, "Cert="+escapeAll(pemOf(cie)), "Chain="+escapeAll(pemOf(cie, sub)), subject, "URI=")
	eight := escapeAll(pemOf(cie, sub, sub, sub, sub, sub, sub, sub, sub))
	cases := []proxyChainCase{
		{name: "ok/no-header"},
		{name: "ok/sanitize-set-regional", h: hdr(XFCCHeader, regElem), want: []*x509.Certificate{reg}},
		{name: "ok/cie-chain-repeats-leaf", h: hdr(XFCCHeader, cieElem), want: []*x509.Certificate{cie, sub}},
		{name: "ok/chain-without-leaf", h: hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(cie)), "Chain="+escapeAll(pemOf(sub, root)))), want: []*x509.Certificate{cie, sub, root}},
		{name: "ok/last-element-wins", h: hdr(XFCCHeader, regElem+","+cieElem), want: []*x509.Certificate{cie, sub}},
		{name: "ok/last-line-last-element", h: hdr(XFCCHeader, cieElem, XFCCHeader, regElem), want: []*x509.Certificate{reg}},
		{name: "ok/spaces-between-elements", h: hdr(XFCCHeader, cieElem+" ,\t "+regElem), want: []*x509.Certificate{reg}},
		{name: "ok/quoted-cert-and-comma-in-earlier-subject", h: hdr(XFCCHeader, xfccElem(`Subject="a,b;c=\"Cert=x\""`, "Cert=junk")+","+xfccElem(`Cert="`+escapeAll(pemOf(reg))+`"`)), want: []*x509.Certificate{reg}},
		{name: "ok/literal-plus-and-equals-kept", h: hdr(XFCCHeader, "Cert="+url.PathEscape(pemOf(reg))), want: []*x509.Certificate{reg}},
		{name: "ok/keys-case-insensitive", h: hdr(XFCCHeader, xfccElem("cert="+escapeAll(pemOf(cie)), "CHAIN="+escapeAll(pemOf(cie, sub)))), want: []*x509.Certificate{cie, sub}},
		{name: "ok/unknown-keys-ignored", h: hdr(XFCCHeader, xfccElem("Future=1", "Cert="+escapeAll(pemOf(reg)))), want: []*x509.Certificate{reg}},
		{name: "ok/eight-certificates", h: hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(cie)), "Chain="+escapeAll(pemOf(cie, sub, sub, sub, sub, sub, sub, sub)))), want: []*x509.Certificate{cie, sub, sub, sub, sub, sub, sub, sub}},

		{name: "fail/no-cert-in-last-element", h: hdr(XFCCHeader, regElem+","+xfccElem(by, hash, subject)), detail: "XFCC: last element has no Cert"},
		{name: "fail/chain-only", h: hdr(XFCCHeader, "Chain="+escapeAll(pemOf(cie, sub))), detail: "last element has no Cert"},
		{name: "fail/cert-not-pem", h: hdr(XFCCHeader, "Cert="+base64.StdEncoding.EncodeToString(reg.Raw)), detail: "XFCC: Cert value is not URL-escaped PEM"},
		{name: "fail/cert-form-encoded", h: hdr(XFCCHeader, `Cert="`+url.QueryEscape(pemOf(reg))+`"`), detail: "XFCC: Cert value is not URL-escaped PEM"},
		{name: "fail/cert-empty", h: hdr(XFCCHeader, "Cert="), detail: "XFCC: Cert value is not URL-escaped PEM (no PEM block)"},
		{name: "fail/chain-not-pem", h: hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(cie)), "Chain=%zz")), detail: "XFCC: Chain value is not URL-escaped PEM"},
		{name: "fail/two-certs-in-cert", h: hdr(XFCCHeader, "Cert="+escapeAll(pemOf(cie, sub))), detail: "Cert value holds 2 certificates"},
		{name: "fail/duplicate-cert", h: hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(reg)), "cert="+escapeAll(pemOf(cie)))), detail: "last element has cert twice"},
		{name: "fail/unterminated-quote", h: hdr(XFCCHeader, `Subject="x,Cert=`+escapeAll(pemOf(reg))), detail: "element 1: Subject: unterminated quoted value"},
		{name: "fail/crafted-earlier-element", h: hdr(XFCCHeader, `Cert="`+","+regElem), detail: "XFCC: element 1: Cert:"},
		{name: "fail/trailing-comma", h: hdr(XFCCHeader, regElem+","), detail: "element 2 is empty"},
		{name: "fail/empty-value", h: hdr(XFCCHeader, ""), detail: "element 1 is empty"},
		{name: "fail/pair-without-equals", h: hdr(XFCCHeader, "By;"+regElem), detail: "element 1: key By has no '='"},
		{name: "fail/empty-pair", h: hdr(XFCCHeader, regElem+";"), detail: "where a key should start"},
		{name: "fail/quote-in-bare-value", h: hdr(XFCCHeader, `By=a"b;`+regElem), detail: `By: unquoted value holds '"'`},
		{name: "fail/junk-after-quoted", h: hdr(XFCCHeader, `Subject="a"b;`+regElem), detail: "Subject: \"b;"},
		{name: "fail/not-der", h: hdr(XFCCHeader, "Cert="+escapeAll(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})))), detail: "XFCC: Cert certificate"},
		{name: "fail/chain-too-long", h: hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(cie)), "Chain="+eight)), detail: "XFCC: 9 certificates with the leaf, over the limit of 8", reason: x509cns.ReasonChainTooLong},
		{name: "fail/too-large", h: hdr(XFCCHeader, strings.Repeat(regElem+",", MaxProxyHeaderBytes/len(regElem))+regElem), detail: "bytes, over the 65536-byte limit"},
	}
	tp, err := NewTrustedProxies(nil, ProxyXFCC)
	if err != nil {
		t.Fatal(err)
	}
	tp.MaxIntermediates = 7 // the most a header is read for
	runProxyChainCases(t, tp, cases)
}

func TestProxyTrusted(t *testing.T) {
	tp, err := NewTrustedProxies([]string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "fe80::/10", "::ffff:172.16.0.0/108"}, ProxyNginx)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, addr string
		want       bool
	}{
		{"ok/ipv4", "10.1.2.3:41000", true},
		{"ok/ipv4-no-port", "10.1.2.3", true},
		{"ok/mapped-ipv6-matches-ipv4-cidr", "[::ffff:10.1.2.3]:41000", true},
		{"ok/single-address", "192.0.2.7:1", true},
		{"ok/ipv6", "[2001:db8:1::5]:443", true},
		{"ok/ipv6-zone", "[fe80::1%eth0]:443", true},
		{"ok/mapped-cidr-matches-ipv4", "172.16.9.9:1", true},
		{"ok/mapped-cidr-matches-mapped", "[::ffff:172.16.9.9]:1", true},
		{"fail/ipv4-outside", "11.0.0.1:41000", false},
		{"fail/single-address-neighbour", "192.0.2.8:1", false},
		{"fail/ipv6-outside", "[2001:db9::1]:443", false},
		{"fail/mapped-outside", "[::ffff:11.0.0.1]:1", false},
		{"fail/ipv4-compatible-is-not-mapped", "[::10.1.2.3]:1", false},
		{"fail/hostname", "proxy.example:443", false},
		{"fail/empty", "", false},
		{"fail/unix-socket", "@", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tp.Trusted(tc.addr); got != tc.want {
				t.Errorf("Trusted(%q) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
	var none *TrustedProxies
	empty, err := NewTrustedProxies(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if none.Trusted("10.1.2.3:1") || empty.Trusted("10.1.2.3:1") {
		t.Error("no CIDRs must trust nobody")
	}
	if empty.Header != ProxyRFC9440 {
		t.Errorf("default header = %q, want %q", empty.Header, ProxyRFC9440)
	}
	if certs, err := none.Chain(hdr(ClientCertHeader, ":AAAA:")); certs != nil || err != nil {
		t.Errorf("nil TrustedProxies read a header: %v, %v", certs, err)
	}
}

func TestProxyConfigErrors(t *testing.T) {
	cases := []struct {
		name   string
		cidrs  []string
		header ProxyHeader
		want   []string
	}{
		{"fail/prefix-too-long", []string{"10.0.0.0/33"}, ProxyXFCC, []string{`proxy: trusted_cidrs[0]: "10.0.0.0/33" is not a valid CIDR`}},
		{"fail/garbage", []string{"banana"}, ProxyXFCC, []string{`"banana" is neither a CIDR nor an IP address`}},
		{"fail/empty", []string{""}, ProxyXFCC, []string{"trusted_cidrs[0]"}},
		{"fail/host-bits", []string{"10.0.0.1/8"}, ProxyXFCC, []string{`"10.0.0.1/8" has host bits set (the network is 10.0.0.0/8)`}},
		{"fail/zone", []string{"fe80::1%eth0"}, ProxyXFCC, []string{"neither a CIDR"}},
		{"fail/header", nil, "apache", []string{`proxy: header: "apache" is not one of`}},
		{"fail/every-error-at-once", []string{"10.0.0.0/8", "x", "1.2.3.4/40"}, "haproxy", []string{"header", "trusted_cidrs[1]", "trusted_cidrs[2]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := NewTrustedProxies(tc.cidrs, tc.header)
			if err == nil || tp != nil {
				t.Fatalf("NewTrustedProxies = %v, %v; want an error", tp, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	for _, h := range []ProxyHeader{ProxyRFC9440, ProxyNginx, ProxyXFCC} {
		if !h.Valid() {
			t.Errorf("%q not Valid", h)
		}
	}
	bogus := &TrustedProxies{Header: "apache"}
	if _, err := bogus.Chain(hdr(ClientCertHeader, ":AAAA:")); x509cns.ReasonOf(err) != x509cns.ReasonInternal {
		t.Errorf("unknown kind: err = %v, want an internal error", err)
	}
}

func TestProxyPresentAndStripHeaders(t *testing.T) {
	cases := []struct {
		name string
		key  string
		want bool
	}{
		{"ok/client-cert", ClientCertHeader, true},
		{"ok/client-cert-chain", ClientCertChainHeader, true},
		{"ok/xfcc", XFCCHeader, true},
		{"ok/nginx-default-cert", DefaultNginxCertHeader, true},
		{"ok/nginx-default-chain", DefaultNginxChainHeader, true},
		{"ok/nginx-custom", "X-Client-Cert", true},
		{"ok/non-canonical-key", "x-forwarded-client-cert", true},
		{"ok/empty-value-counts", ClientCertHeader, true},
		{"fail/unrelated", "X-Forwarded-For", false},
		{"fail/near-miss", "X-SSL-Client-Verify", false},
	}
	for _, kind := range []ProxyHeader{ProxyRFC9440, ProxyNginx, ProxyXFCC} {
		tp, err := NewTrustedProxies([]string{"10.0.0.0/8"}, kind)
		if err != nil {
			t.Fatal(err)
		}
		tp.NginxCertHeader = "X-Client-Cert"
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				h := http.Header{"X-Forwarded-For": {"192.0.2.1"}, "X-Ssl-Client-Verify": {"SUCCESS"}}
				if tc.name == "ok/empty-value-counts" {
					h[tc.key] = []string{""}
				} else {
					h[tc.key] = append(h[tc.key], "spoofed")
				}
				if got := tp.Present(h); got != tc.want {
					t.Fatalf("Present = %v, want %v", got, tc.want)
				}
				tp.StripHeaders(h)
				if tp.Present(h) {
					t.Error("Present after StripHeaders")
				}
				if h.Get("X-Forwarded-For") == "" || h.Get("X-SSL-Client-Verify") == "" {
					t.Errorf("StripHeaders removed unrelated headers: %v", h)
				}
			})
		}
	}
	var none *TrustedProxies
	h := hdr(XFCCHeader, "x", DefaultNginxCertHeader, "y")
	if !none.Present(h) {
		t.Error("nil TrustedProxies: Present = false")
	}
	none.StripHeaders(h)
	if len(h) != 0 {
		t.Errorf("nil TrustedProxies left %v", h)
	}
}

// checkProxyFuzzResult checks what every parser promises on any input.
func checkProxyFuzzResult(t *testing.T, certs []*x509.Certificate, err error) {
	t.Helper()
	if err != nil {
		if certs != nil {
			t.Fatalf("certificates with an error: %v", err)
		}
		if r := x509cns.ReasonOf(err); r != x509cns.ReasonMalformed {
			t.Fatalf("reason %q, want %q: %v", r, x509cns.ReasonMalformed, err)
		}
		return
	}
	if len(certs) > MaxProxyChain {
		t.Fatalf("%d certificates, over the limit", len(certs))
	}
	for i, c := range certs {
		if c == nil || len(c.Raw) == 0 {
			t.Fatalf("certificate %d is empty", i)
		}
	}
}

// checkProxyRoundTrip re-encodes certs with enc and checks they read back
// the same, DER for DER.
func checkProxyRoundTrip(t *testing.T, tp *TrustedProxies, certs []*x509.Certificate, enc func([]*x509.Certificate) http.Header) {
	t.Helper()
	if len(certs) == 0 {
		return
	}
	again, err := tp.Chain(enc(certs))
	if err != nil {
		t.Fatalf("re-encoded chain: %v", err)
	}
	if len(again) != len(certs) {
		t.Fatalf("re-encoded chain has %d certificates, want %d", len(again), len(certs))
	}
	for i := range certs {
		if !bytes.Equal(again[i].Raw, certs[i].Raw) {
			t.Fatalf("certificate %d differs after re-encoding", i)
		}
	}
}

func encodeRFC9440(certs []*x509.Certificate) http.Header {
	h := hdr(ClientCertHeader, sfBin(certs[0]))
	for _, c := range certs[1:] {
		h.Add(ClientCertChainHeader, sfBin(c))
	}
	return h
}

func encodeNginx(certs []*x509.Certificate) http.Header {
	h := hdr(DefaultNginxCertHeader, escapeAll(pemOf(certs[0])))
	if len(certs) > 1 {
		h.Set(DefaultNginxChainHeader, escapeAll(pemOf(certs[1:]...)))
	}
	return h
}

func encodeXFCC(certs []*x509.Certificate) http.Header {
	return hdr(XFCCHeader, xfccElem("Cert="+escapeAll(pemOf(certs[0])), "Chain="+escapeAll(pemOf(certs...))))
}

func FuzzRFC9440(f *testing.F) {
	p := mustProxyPKI(f)
	f.Add(sfBin(p.regional.Cert), "")
	f.Add(sfBin(p.cie.Cert), sfBin(p.cie.Chain[0])+", "+sfBin(p.cieRoot))
	f.Add(":"+base64.RawStdEncoding.EncodeToString(p.cie.Cert.Raw)+":", sfBin(p.cie.Chain[0])+",")
	f.Add(":aGVsbG8=:;a=1", "(:AAAA:)")
	f.Add("", sfBin(p.cie.Chain[0]))
	tp := &TrustedProxies{Header: ProxyRFC9440}
	f.Fuzz(func(t *testing.T, cert, chain string) {
		h := http.Header{}
		if cert != "" {
			h.Set(ClientCertHeader, cert)
		}
		if chain != "" {
			h.Set(ClientCertChainHeader, chain)
		}
		certs, err := tp.Chain(h)
		checkProxyFuzzResult(t, certs, err)
		checkProxyRoundTrip(t, tp, certs, encodeRFC9440)
	})
}

func FuzzNginxHeader(f *testing.F) {
	p := mustProxyPKI(f)
	f.Add(escapeAll(pemOf(p.regional.Cert)), "")
	f.Add(url.PathEscape(pemOf(p.cie.Cert)), escapeAll(pemOf(p.cie.Cert, p.cie.Chain[0])))
	f.Add(escapeAll(string(p.regional.KeyPEM())), "%zz")
	f.Add("", escapeAll(pemOf(p.cieRoot)))
	tp := &TrustedProxies{Header: ProxyNginx}
	f.Fuzz(func(t *testing.T, cert, chain string) {
		h := http.Header{}
		if cert != "" {
			h.Set(DefaultNginxCertHeader, cert)
		}
		if chain != "" {
			h.Set(DefaultNginxChainHeader, chain)
		}
		certs, err := tp.Chain(h)
		checkProxyFuzzResult(t, certs, err)
		checkProxyRoundTrip(t, tp, certs, encodeNginx)
	})
}

func FuzzXFCC(f *testing.F) {
	p := mustProxyPKI(f)
	f.Add(xfccElem("By=spiffe://x", "Cert="+escapeAll(pemOf(p.regional.Cert)), `Subject="CN=a,O=b"`, "URI="))
	f.Add(`Subject="a,\"b"` + "," + xfccElem(`Cert="`+url.PathEscape(pemOf(p.cie.Cert))+`"`, "Chain="+escapeAll(pemOf(p.cie.Cert, p.cie.Chain[0]))))
	f.Add(`Cert=",By=x;Cert=y`)
	f.Add("Hash=abc;DNS=a;DNS=b,")
	tp := &TrustedProxies{Header: ProxyXFCC}
	f.Fuzz(func(t *testing.T, v string) {
		certs, err := tp.Chain(hdr(XFCCHeader, v))
		checkProxyFuzzResult(t, certs, err)
		checkProxyRoundTrip(t, tp, certs, encodeXFCC)
	})
}
