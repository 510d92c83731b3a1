package tslsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/x509cns"
)

// FetchError is a failed fetch: its outcome (one of the Outcome
// constants) and the precise reason.
type FetchError struct {
	Outcome string
	Err     error
}

func (e *FetchError) Error() string { return "trusted list " + e.Outcome + ": " + e.Err.Error() }
func (e *FetchError) Unwrap() error { return e.Err }

func failed(outcome, format string, args ...any) *FetchError {
	return &FetchError{Outcome: outcome, Err: fmt.Errorf(format, args...)}
}

// Fetch asks the URL once for the list, now. A new list that verifies is
// persisted, installed and handed to OnUpdate; on any failure (a
// *FetchError) the list in use stays. Either way the outcome is counted
// and logged.
func (s *Syncer) Fetch(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.o.Now()
	l, outcome, err := s.fetch(ctx)
	s.record(outcome)
	log := s.o.Logger.With("url", s.o.URL, "outcome", outcome, "took", s.o.Now().Sub(start).Round(time.Millisecond))
	if err != nil {
		var fe *FetchError
		if !errors.As(err, &fe) {
			fe = &FetchError{Outcome: outcome, Err: err}
		}
		args := []any{"err", fe.Err}
		if cur := s.cur.Load(); cur != nil {
			args = append(args, "in_use_sequence", cur.Scheme.SequenceNumber, "in_use_verified_at", cur.VerifiedAt)
		} else {
			args = append(args, "in_use", "none")
		}
		log.Warn("trusted list fetch failed; keeping the last good list", args...)
		return fe
	}
	if outcome == OutcomeUpdated {
		log.Info("trusted list updated", "sequence", l.Scheme.SequenceNumber, "issued_at", l.Scheme.IssuedAt,
			"next_update", l.Scheme.NextUpdate, "anchors_usable", l.Report.Usable, "summary", l.Report.Summary())
	} else {
		log.Debug("trusted list unchanged", "sequence", l.Scheme.SequenceNumber)
	}
	if !l.Scheme.NextUpdate.IsZero() && s.o.Now().After(l.Scheme.NextUpdate) {
		log.Warn("the trusted list in use is past its NextUpdate: the publisher has not issued a newer one",
			"sequence", l.Scheme.SequenceNumber, "next_update", l.Scheme.NextUpdate)
	}
	if outcome == OutcomeUpdated && s.o.OnUpdate != nil {
		s.o.OnUpdate(l)
	}
	return nil
}

// fetch is Fetch without the counting and logging.
func (s *Syncer) fetch(ctx context.Context) (*List, string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	body, status, err := s.get(ctx)
	if err != nil {
		return nil, outcomeOf(ctx, err), err
	}
	cur := s.cur.Load()
	if status == http.StatusNotModified || (cur != nil && bytes.Equal(body, cur.Data)) {
		if cur == nil {
			return nil, OutcomeHTTPError, errors.New("304 Not Modified, but no list was ever received")
		}
		return s.confirm(cur), OutcomeUnchanged, nil
	}
	l, outcome, err := s.verify(body, "url")
	if err != nil {
		return nil, outcome, err
	}
	if cur != nil {
		if err := newer(l.Scheme, cur.Scheme); err != nil {
			return nil, OutcomeRollback, err
		}
	}
	s.persist(l)
	s.cur.Store(l)
	s.publish(l)
	return l, OutcomeUpdated, nil
}

// get makes the conditional GET and reads the body within MaxBytes. A
// non-nil error has failed's outcome, or is a transport error for
// outcomeOf.
func (s *Syncer) get(ctx context.Context) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.o.URL, nil)
	if err != nil {
		return nil, 0, failed(OutcomeUnreachable, "bad URL: %v", err)
	}
	req.Header.Set("Accept", "application/xml, text/xml;q=0.9, */*;q=0.1")
	if s.cur.Load() != nil {
		if s.etag != "" {
			req.Header.Set("If-None-Match", s.etag)
		}
		if s.lastMod != "" {
			req.Header.Set("If-Modified-Since", s.lastMod)
		}
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, resp.StatusCode, nil
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, 0, failed(OutcomeHTTPError, "HTTP %s", resp.Status)
	case resp.ContentLength > s.o.MaxBytes:
		return nil, 0, failed(OutcomeTooLarge, "Content-Length %d bytes, more than the limit of %d", resp.ContentLength, s.o.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.o.MaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the body after %d bytes: %w", len(body), err)
	}
	if int64(len(body)) > s.o.MaxBytes {
		return nil, 0, failed(OutcomeTooLarge, "body longer than the limit of %d bytes", s.o.MaxBytes)
	}
	s.etag, s.lastMod = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return body, resp.StatusCode, nil
}

// outcomeOf classifies an error of get: its own outcome, a timeout when the
// fetch's deadline passed, otherwise unreachable.
func outcomeOf(ctx context.Context, err error) string {
	var fe *FetchError
	switch {
	case errors.As(err, &fe):
		return fe.Outcome
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return OutcomeTimeout
	}
	return OutcomeUnreachable
}

// verify loads data into a scratch trust store as the real one would:
// signature by the signer, structure, services; it must yield at least one
// anchor usable now.
func (s *Syncer) verify(data []byte, source string) (*List, string, error) {
	scratch, pool := x509cns.NewTrustStore(), x509cns.NewIntermediatePool()
	scratch.Now, pool.Now = s.o.Now, s.o.Now
	opts := s.o.TSL
	opts.Intermediates = pool
	rep, err := scratch.LoadTSL(data, opts)
	switch {
	case errors.Is(err, x509cns.ErrTSLSignature):
		return nil, OutcomeBadSignature, err
	case err != nil:
		return nil, OutcomeInvalid, err
	case rep.Usable == 0:
		return nil, OutcomeNoAnchor, fmt.Errorf("signed list %d holds no CA usable now (%d services, %d kept, %d certificates: %s)",
			rep.Scheme.SequenceNumber, rep.Services, rep.ServicesKept, rep.Certificates, rep.Summary())
	}
	return &List{Data: data, Report: rep, Scheme: *rep.Scheme, VerifiedAt: s.o.Now(), Source: source}, "", nil
}

// newer refuses a list that is an older issue than the one in use: a
// lower sequence number or an earlier issue time. An attacker on the path
// could otherwise replay an old, validly signed list that still trusts a
// CA withdrawn since.
func newer(got, cur x509cns.TSLScheme) error {
	switch {
	case got.SequenceNumber < cur.SequenceNumber:
		return fmt.Errorf("TSLSequenceNumber %d is lower than %d, the list in use", got.SequenceNumber, cur.SequenceNumber)
	case got.IssuedAt.Before(cur.IssuedAt):
		return fmt.Errorf("ListIssueDateTime %s is before %s, the list in use", got.IssuedAt.Format(time.RFC3339), cur.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

// confirm records that the list in use is still the published one.
func (s *Syncer) confirm(cur *List) *List {
	l := *cur
	l.VerifiedAt = s.o.Now()
	s.cur.Store(&l)
	s.touch(l.VerifiedAt)
	s.publish(&l)
	return &l
}
