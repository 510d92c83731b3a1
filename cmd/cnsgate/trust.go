package main

import (
	"fmt"
	"os"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/tslsync"
)

// trustSet is what loading the trust configuration produced.
type trustSet struct {
	store     *x509cns.TrustStore
	validator *x509cns.Validator
	reports   []*x509cns.LoadReport // anchors' and intermediate_dirs'
	usable    int                   // anchors valid now, over every report
}

// loadTrust builds the trust store and the validator from the trust
// section, with the cached list of trust.tsl_url when there is one: what
// the commands that do not fetch (check-config, inspect) see.
func loadTrust(t config.Trust) (*trustSet, error) {
	return loadTrustWith(t, cachedTSL(t))
}

// loadTrustWith builds the trust store and the validator from the trust
// section and tsl, the list of trust.tsl_url in use (nil for none).
func loadTrustWith(t config.Trust, tsl *tslsync.List) (*trustSet, error) {
	store, pool := x509cns.NewTrustStore(), x509cns.NewIntermediatePool()
	var reports []*x509cns.LoadReport
	for _, dir := range t.CADirs {
		rep, err := store.LoadPEMDir(dir)
		if err != nil {
			return nil, fmt.Errorf("trust: ca_dirs: %w", err)
		}
		reports = append(reports, rep)
	}
	signer, err := readTSLSigner(t)
	if err != nil {
		return nil, err
	}
	if t.TSLFile != "" {
		data, err := os.ReadFile(t.TSLFile)
		if err != nil {
			return nil, fmt.Errorf("trust: tsl_file: %w", err)
		}
		rep, err := store.LoadTSL(data, x509cns.TSLOptions{Signer: signer, Intermediates: pool})
		if err != nil {
			return nil, fmt.Errorf("trust: tsl_file: %w", err)
		}
		reports = append(reports, rep)
	}
	if tsl != nil {
		rep, err := store.LoadTSL(tsl.Data, x509cns.TSLOptions{Signer: signer, MaxSize: t.TSLMaxBytes, Intermediates: pool})
		if err != nil { // verified by the syncer with the same signer: only a signer expired since
			return nil, fmt.Errorf("trust: tsl_url: %w", err)
		}
		rep.Source = fmt.Sprintf("TSL %s (sequence %d, from the %s)", t.TSLURL, rep.Scheme.SequenceNumber, tsl.Source)
		reports = append(reports, rep)
	}
	poolReports, err := loadIntermediates(pool, t.IntermediateDirs)
	if err != nil {
		return nil, err
	}
	if store.Len() == 0 {
		return nil, fmt.Errorf("trust: no trust anchor was loaded from %v %s %s", t.CADirs, t.TSLFile, t.TSLURL)
	}
	policy, err := policyFromConfig(t)
	if err != nil {
		return nil, err
	}
	v := &x509cns.Validator{Anchors: store, Policy: policy}
	if pool.Len() > 0 {
		v.Intermediates = pool
	}
	ts := &trustSet{store: store, validator: v, reports: append(reports, poolReports...)}
	for _, r := range reports { // the anchors' reports only
		ts.usable += r.Usable
	}
	return ts, nil
}

// loadIntermediates adds trust.intermediate_dirs to pool: CA certificates
// that may complete a presented chain but are not anchors. The sub-CAs a
// trusted list holds beside their root are already there.
func loadIntermediates(pool *x509cns.IntermediatePool, dirs []string) ([]*x509cns.LoadReport, error) {
	var reports []*x509cns.LoadReport
	for _, dir := range dirs {
		rep, err := pool.LoadPEMDir(dir)
		if err != nil {
			return nil, fmt.Errorf("trust: intermediate_dirs: %w", err)
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// requireUsable is the serving rule: expired anchors are kept (inspect
// --at validates in the past) but a gateway with none valid now would
// refuse every card, so it must not start or reload that way.
func (ts *trustSet) requireUsable() error {
	if ts.usable == 0 {
		return fmt.Errorf("trust: %d anchors stored but none is valid now", ts.store.Len())
	}
	return nil
}

// policyFromConfig turns the trust section into a validation policy.
func policyFromConfig(t config.Trust) (x509cns.Policy, error) {
	p := x509cns.Policy{
		RequireClientAuthEKU: t.RequireClientAuthEKU,
		MinRSABits:           t.MinRSABits,
		AllowSHA1:            t.AllowSHA1,
		MaxIntermediates:     t.MaxIntermediates,
		MaxSignatureChecks:   t.MaxSignatureChecks,
	}
	for _, s := range t.Policies {
		oid, err := config.ParseOID(s)
		if err != nil {
			return p, fmt.Errorf("trust: policies: %w", err)
		}
		p.Policies = append(p.Policies, oid)
	}
	return p, nil
}
