package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns"
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
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func cmdInspect(args []string, stdout, stderr io.Writer) int {
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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cnsgate inspect [--config FILE | --trust DIR...] [--at TIME] CERT.pem\n\nPrints a JSON verdict; exits 0 when the card is accepted, 1 when refused, 2 on errors.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (*cfgPath == "") == (len(trustDirs) == 0 && *tsl == "") {
		fs.Usage()
		return 2
	}
	when := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate inspect: --at: %v\n", err)
			return 2
		}
		when = t
	}
	var trust config.Trust
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
			return 2
		}
		trust = cfg.Trust
	} else {
		trust = config.Trust{CADirs: trustDirs, TSLFile: *tsl, Policies: config.DefaultPolicies(),
			RequireClientAuthEKU: !*noEKU, MinRSABits: *minRSA, AllowSHA1: *allowSHA1}
	}
	ts, err := loadTrust(trust)
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
		return 2
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "cnsgate inspect: %v\n", err)
		return 2
	}
	rep := inspectReport{ValidAt: when.UTC().Format(time.RFC3339)}
	chain, err := x509cns.ParseCertificates(data)
	var res *x509cns.Result
	if err == nil {
		res, err = ts.validator.Validate(chain, when)
	}
	if err != nil {
		rep.Verdict, rep.Reason, rep.Detail = "rejected", string(x509cns.ReasonOf(err)), err.Error()
	} else {
		id := res.Identity
		rep.Verdict = "accepted"
		rep.FiscalCode, rep.CardID, rep.CardType = id.FiscalCode, id.CardID, string(id.CardType)
		rep.GivenName, rep.FamilyName, rep.Issuer, rep.Region = id.GivenName, id.FamilyName, id.Issuer, id.Region
		rep.Policies, rep.NotAfter = id.Policies, id.NotAfter.UTC().Format(time.RFC3339)
		rep.Serial, rep.SHA256 = id.Serial, id.Fingerprint
	}
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
