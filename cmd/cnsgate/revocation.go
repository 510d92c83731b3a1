package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"log/slog"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// currentTrust lets the revocation checker find CRL issuers in whichever
// trust store is current, across SIGHUP reloads.
type currentTrust struct{ p *atomic.Pointer[trustSet] }

func (c currentTrust) IssuersByName(rawIssuer, aki []byte) []*x509.Certificate {
	return c.p.Load().store.IssuersByName(rawIssuer, aki)
}

func (c currentTrust) Anchors() []*x509.Certificate { return c.p.Load().store.Anchors() }

// revocationOptions maps the revocation section onto the checker's options.
func revocationOptions(rc config.Revocation, issuers revocation.Issuers, logger *slog.Logger) revocation.Options {
	return revocation.Options{
		Mode: revocation.Mode(rc.Mode), Failure: revocation.Failure(rc.Failure),
		OCSPTimeout: rc.OCSPTimeout.Std(), OCSPURL: rc.OCSPURL, OCSPNonce: rc.OCSPNonce,
		CRLGrace: rc.CRLGrace.Std(), CRLFiles: rc.CRLFiles, CRLURLs: rc.CRLURLs,
		CRLMaxBytes: rc.CRLMaxBytes, CRLFetchTimeout: rc.CRLFetchTimeout.Std(), CRLCacheDir: rc.CacheDir,
		FollowRedirects: revocation.Redirects(rc.FollowRedirects), Issuers: issuers, Logger: logger,
	}
}

// revocationGate adapts the checker to the front door, logging how a
// refusal was decided.
type revocationGate struct {
	c      *revocation.Checker
	logger *slog.Logger
}

func (g revocationGate) Verify(ctx context.Context, chain []*x509.Certificate) error {
	res, at, err := g.c.VerifyChain(ctx, chain)
	if err != nil {
		g.logger.WarnContext(ctx, "revocation check refused the card", "method", res.Method, "status", res.Status.String(),
			"source", res.Source, "cause", res.Cause, "chain_position", at)
	}
	return err
}

// revocationCache is the checker's cache-only lookup as idp sees it:
// hex key id and serial, as sessions keep them.
type revocationCache struct{ c *revocation.Checker }

var _ idp.RevocationCache = revocationCache{}

func (r revocationCache) CardRevoked(issuerKeyID, issuer, serial string) (revoked, known bool) {
	n, ok := new(big.Int).SetString(serial, 16)
	if !ok {
		return false, false
	}
	ski, err := hex.DecodeString(issuerKeyID)
	if err != nil {
		ski = nil // matched by name, like a session without a key id
	}
	return r.c.Revoked(ski, issuer, n)
}

// serialsHex writes serials as x509cns.Identity does.
func serialsHex(ev revocation.RevokedEvent) []string {
	out := make([]string, 0, len(ev.Serials))
	for _, s := range ev.Serials {
		out = append(out, hex.EncodeToString(s.Bytes()))
	}
	return out
}

// auditedRevocation counts the checker's events in the metrics and writes
// each failed CRL refresh to the audit trail as well.
type auditedRevocation struct {
	revocation.Recorder
	audit func(issuer string)
}

func (a auditedRevocation) CRLRefreshFailed(issuer string) {
	a.Recorder.CRLRefreshFailed(issuer)
	a.audit(issuer)
}

// revocationStatus reads the checker's caches for the admin API and the
// console (idp.RevocationStatus).
type revocationStatus struct{ c *revocation.Checker }

var _ idp.RevocationStatus = revocationStatus{}

func (r revocationStatus) CRLStatus() []idp.CRLStatus {
	now := time.Now()
	var out []idp.CRLStatus
	for _, s := range r.c.CRLStates() {
		out = append(out, idp.CRLStatus{Issuer: s.Issuer, Loaded: s.Loaded, Source: s.Source, ThisUpdate: s.ThisUpdate,
			NextUpdate: s.NextUpdate, AgeSeconds: s.Age(now).Seconds(), Entries: s.Entries, LastError: s.LastError,
			Failures: s.Failures, NextFetch: s.NextFetch})
	}
	return out
}

func (r revocationStatus) OCSPStatus() []idp.OCSPStatus {
	var out []idp.OCSPStatus
	for _, s := range r.c.OCSPStates() {
		out = append(out, idp.OCSPStatus{Responder: s.Responder, Answers: s.Answers, Failures: s.Failures,
			LastAnswer: s.LastAnswer, LastFailure: s.LastFailure, LastError: s.LastError})
	}
	return out
}
