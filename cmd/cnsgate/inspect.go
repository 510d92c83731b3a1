package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// inspectReport is the JSON printed by `cnsgate inspect` (a Contract shape).
type inspectReport struct {
	Verdict    string   `json:"verdict"` // accepted | rejected
	Reason     string   `json:"reason,omitempty"`
	Detail     string   `json:"detail,omitempty"`
	FiscalCode string   `json:"fiscal_code,omitempty"`
	CardID     string   `json:"card_id,omitempty"`
	CardType   string   `json:"card_type,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Issuer     string   `json:"issuer,omitempty"`
	Region     string   `json:"region,omitempty"`
	Policies   []string `json:"policies,omitempty"`
	NotAfter   string   `json:"not_after,omitempty"`
	Serial     string   `json:"serial,omitempty"`
	SHA256     string   `json:"sha256,omitempty"`
	ValidAt    string   `json:"validated_at"`
	// Revocation is present when a revocation mode other than none applies.
	Revocation *revocationReport `json:"revocation,omitempty"`
}

// revocationReport is how the card's revocation status was found, and
// that of each CA between it and its trust anchor (serve refuses the card
// when any of them is revoked).
type revocationReport struct {
	linkReport
	Intermediates []linkReport `json:"intermediates,omitempty"` // nearest the card first
}

// linkReport is the revocation status of one certificate of the chain.
type linkReport struct {
	Subject   string `json:"subject,omitempty"` // intermediates only
	Method    string `json:"method"`            // crl, ocsp, none
	Result    string `json:"result"`            // good, revoked, unavailable
	Source    string `json:"source,omitempty"`  // URL or file
	RevokedAt string `json:"revoked_at,omitempty"`
	Cause     string `json:"cause,omitempty"`
}

func newLinkReport(r revocation.Result) linkReport {
	rep := linkReport{Method: string(r.Method), Result: r.Status.String(), Source: r.Source}
	if !r.RevokedAt.IsZero() {
		rep.RevokedAt = r.RevokedAt.UTC().Format(time.RFC3339)
	}
	if r.Cause != nil {
		rep.Cause = r.Cause.Error()
	}
	return rep
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// errUsage is a command line the flag package has already answered with
// the usage text.
var errUsage = errors.New("usage")

// errHelp is a request for help, answered on standard output.
var errHelp = errors.New("help")

// inspectArgs is the command line of `cnsgate inspect`, resolved: the
// certificate file, the time of validation, and the trust and revocation
// settings from --config or from the flags.
type inspectArgs struct {
	cert  string
	when  time.Time
	trust config.Trust
	rev   config.Revocation
}

func parseInspectFlags(args []string, stdout, stderr io.Writer) (*inspectArgs, error) {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "take trust and policy from this configuration file")
	var trustDirs stringList
	fs.Var(&trustDirs, "trust", "directory of trusted CA certificates (repeatable; instead of --config)")
	tsl := fs.String("tsl", "", "ETSI TS 119 612 trusted list to trust (instead of --config)")
	at := fs.String("at", "", "validate at this time (RFC 3339) instead of now")
	allowSHA1 := fs.Bool("allow-sha1", false, "accept SHA-1 signatures (with --trust)")
	minRSA := fs.Int("min-rsa-bits", config.DefaultMinRSABits, "smallest RSA key accepted (with --trust)")
	noEKU := fs.Bool("no-eku", false, "do not require the clientAuth extended key usage (with --trust)")
	revMode := fs.String("revocation", "none", "with --trust: crl, ocsp, crl_then_ocsp, ocsp_then_crl or none")
	var crlFiles stringList
	fs.Var(&crlFiles, "crl", "with --trust: a CRL file to use (repeatable)")
	ocspURL := fs.String("ocsp-url", "", "with --trust: OCSP responder instead of the certificate's AIA")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: cnsgate inspect [--config FILE | --trust DIR...] [--at TIME] CERT.pem\n\nPrints a JSON verdict; exits 0 when the card is accepted, 1 when refused, 2 on errors.")
		fs.PrintDefaults()
	}
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return nil, errHelp
	}
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() != 1 || (*cfgPath == "") == (len(trustDirs) == 0 && *tsl == "") {
		fs.Usage()
		return nil, errUsage
	}
	a := &inspectArgs{cert: fs.Arg(0), when: time.Now()}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return nil, fmt.Errorf("--at: %w", err)
		}
		a.when = t
	}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			return nil, err
		}
		a.trust, a.rev = cfg.Trust, cfg.Revocation
		return a, nil
	}
	a.trust = config.Trust{CADirs: trustDirs, TSLFile: *tsl, Policies: config.DefaultPolicies(),
		RequireClientAuthEKU: !*noEKU, MinRSABits: *minRSA, AllowSHA1: *allowSHA1, MaxIntermediates: config.DefaultMaxIntermediates}
	a.rev = config.Default().Revocation
	a.rev.Mode, a.rev.CRLFiles, a.rev.OCSPURL = config.RevocationMode(*revMode), crlFiles, *ocspURL
	return a, nil
}

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	a, err := parseInspectFlags(args, stdout, stderr)
	if err == errHelp {
		return 0
	}
	if err != nil {
		if err != errUsage {
			fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
		}
		return 2
	}
	ts, err := loadTrust(a.trust)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
		return 2
	}
	data, err := os.ReadFile(a.cert)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
		return 2
	}
	rep := inspectCert(ts, a.rev, data, a.when)
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return 2
	}
	if rep.Verdict != "accepted" {
		return 1
	}
	return 0
}

// inspectCert validates the certificate chain in data as the card listener
// would, revocation included unless its mode is none.
func inspectCert(ts *trustSet, rev config.Revocation, data []byte, when time.Time) inspectReport {
	rep := inspectReport{ValidAt: when.UTC().Format(time.RFC3339)}
	chain, err := x509cns.ParseCertificates(data)
	var res *x509cns.Result
	if err == nil {
		res, err = ts.validator.Validate(chain, when)
	}
	if err == nil && rev.Mode != config.RevocationNone {
		rep.Revocation, err = inspectRevocation(rev, ts, res)
	}
	if err != nil {
		rep.Verdict, rep.Reason, rep.Detail = "rejected", string(x509cns.ReasonOf(err)), err.Error()
	}
	if res != nil {
		id := res.Identity
		if err == nil {
			rep.Verdict = "accepted"
		}
		rep.FiscalCode, rep.CardID, rep.CardType = id.FiscalCode, id.CardID, string(id.CardType)
		rep.GivenName, rep.FamilyName, rep.Issuer, rep.Region = id.GivenName, id.FamilyName, id.Issuer, id.Region
		rep.Policies, rep.NotAfter = id.Policies, id.NotAfter.UTC().Format(time.RFC3339)
		rep.Serial, rep.SHA256 = id.Serial, id.Fingerprint
	}
	return rep
}

// inspectRevocation checks the card's revocation status as serve would,
// and returns the report and the refusal, if any.
func inspectRevocation(rc config.Revocation, ts *trustSet, res *x509cns.Result) (*revocationReport, error) {
	chk, err := revocation.New(revocationOptions(rc, ts.store, slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	defer chk.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := chk.Start(ctx); err != nil {
		return nil, err
	}
	results := chk.CheckChain(ctx, res.Chain)
	rep := &revocationReport{linkReport: newLinkReport(results[0])}
	for i, r := range results[1:] {
		link := newLinkReport(r)
		link.Subject = res.Chain[i+1].Subject.String()
		rep.Intermediates = append(rep.Intermediates, link)
	}
	_, err = chk.DecideChain(res.Chain, results)
	return rep, err
}
