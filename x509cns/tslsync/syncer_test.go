package tslsync

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

func sign(t *testing.T, f *fixture, seq int, withCNS bool, xmlsec bool) []byte {
	t.Helper()
	l := f.list(seq, withCNS)
	var doc []byte
	var err error
	if xmlsec {
		doc, err = f.signer.SignXMLSec1(l, t.TempDir())
	} else {
		doc, err = f.signer.Sign(l)
	}
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestSyncerFaults drives one Syncer against a real list server through
// every fault: each failed fetch is refused with its outcome and reason,
// bounded in time, and leaves the last good list in use and in the cache;
// a later good list is taken; a new Syncer with the URL down starts from
// the cache.
func TestSyncerFaults(t *testing.T) {
	f := newFixture(t)
	v2 := sign(t, f, 2, true, true) // xmlsec1
	v1 := sign(t, f, 1, true, false)
	v3 := sign(t, f, 3, true, false) // goxmldsig
	byOther, err := f.other.Sign(f.list(4, true))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(sign(t, f, 4, true, false), []byte(x509cns.ServiceTypeIdV), []byte(x509cns.ServiceTypeIdV+"x"), 1)
	// a valid signature by another key claiming the signer's certificate
	forged, err := (&cnstest.TSLSigner{Key: f.other.Key, Cert: f.signer.Cert}).Sign(f.list(4, true))
	if err != nil {
		t.Fatal(err)
	}
	noAnchor := sign(t, f, 5, false, false)

	ls := newListServer(t)
	cache := filepath.Join(t.TempDir(), "tsl-it.xml")
	rec := &recorder{}
	var updates atomic.Int32
	const timeout = 700 * time.Millisecond
	s, err := New(Options{URL: ls.URL + "/TSL-IT.xml", Signer: f.signer.Cert, CacheFile: cache, Timeout: timeout,
		MaxBytes: 256 << 10, Recorder: rec, OnUpdate: func(*List) { updates.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	steps := []struct {
		name    string
		serve   func(ls *listServer)
		outcome string
		errText string
		seq     int // sequence in use after the step
	}{
		{"fail/500-before-any-list", func(ls *listServer) { ls.status = 500 }, OutcomeHTTPError, "HTTP 500", 0},
		{"ok/xmlsec1-signed", func(ls *listServer) { ls.body = v2 }, OutcomeUpdated, "", 2},
		{"ok/same-bytes", func(ls *listServer) { ls.body = v2 }, OutcomeUnchanged, "", 2},
		{"fail/500", func(ls *listServer) { ls.status = 500 }, OutcomeHTTPError, "HTTP 500 Internal Server Error", 2},
		{"fail/404", func(ls *listServer) { ls.status = 404 }, OutcomeHTTPError, "HTTP 404", 2},
		{"fail/hang-before-headers", func(ls *listServer) { ls.hang = time.Minute }, OutcomeTimeout, "", 2},
		{"fail/hang-in-the-body", func(ls *listServer) { ls.body, ls.hang, ls.hangBody = v3, time.Minute, true }, OutcomeTimeout, "reading the body", 2},
		{"fail/too-large", func(ls *listServer) { ls.body = bytes.Repeat([]byte("<x/>"), 100<<10) }, OutcomeTooLarge, "the limit of 262144 bytes", 2},
		{"fail/not-xml", func(ls *listServer) { ls.body = []byte("<html>maintenance</html>") }, OutcomeInvalid, "root element is {}html", 2},
		{"fail/tampered", func(ls *listServer) { ls.body = tampered }, OutcomeBadSignature, "signature not valid", 2},
		{"fail/signed-by-another", func(ls *listServer) { ls.body = byOther }, OutcomeBadSignature, "signature not valid", 2},
		{"fail/another-key-claiming-the-signer", func(ls *listServer) { ls.body = forged }, OutcomeBadSignature, "signature not valid", 2},
		{"fail/older-issue", func(ls *listServer) { ls.body = v1 }, OutcomeRollback, "TSLSequenceNumber 1 is lower than 2", 2},
		{"fail/no-usable-anchor", func(ls *listServer) { ls.body = noAnchor }, OutcomeNoAnchor, "holds no CA usable now", 2},
		{"ok/goxmldsig-signed-newer", func(ls *listServer) { ls.body, ls.etag = v3, `"v3"` }, OutcomeUpdated, "", 3},
		{"ok/not-modified", func(ls *listServer) { ls.body, ls.etag = v3, `"v3"` }, OutcomeUnchanged, "", 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ls.set(st.serve)
			before := rec.count(st.outcome)
			start := time.Now()
			err := s.Fetch(ctx)
			took := time.Since(start)
			if took > timeout+time.Second {
				t.Errorf("fetch took %v, more than the timeout %v", took, timeout)
			}
			if rec.count(st.outcome) != before+1 {
				t.Errorf("outcome %s not counted: %v", st.outcome, rec.outcomes)
			}
			var fe *FetchError
			switch {
			case st.errText == "" && st.outcome != OutcomeTimeout && err != nil:
				t.Fatalf("err = %v", err)
			case st.outcome == OutcomeUpdated || st.outcome == OutcomeUnchanged:
			case !errors.As(err, &fe) || fe.Outcome != st.outcome || !strings.Contains(err.Error(), st.errText):
				t.Fatalf("err = %v, want outcome %s with %q", err, st.outcome, st.errText)
			}
			cur := s.Current()
			if st.seq == 0 {
				if cur != nil {
					t.Fatalf("a list is in use: %d", cur.Scheme.SequenceNumber)
				}
				return
			}
			if cur == nil || cur.Scheme.SequenceNumber != st.seq {
				t.Fatalf("list in use: %+v, want sequence %d", cur, st.seq)
			}
			if onDisk, err := os.ReadFile(cache); err != nil || !bytes.Equal(onDisk, cur.Data) {
				t.Fatalf("cache file is not the list in use (%v)", err)
			}
		})
	}
	if n := updates.Load(); n != 2 {
		t.Errorf("OnUpdate called %d times, want 2", n)
	}
	cur := s.Current()
	if r := cur.Report; r.Services != 4 || r.ServicesKept != 1 || r.Usable != 1 || rec.anchors != 1 || len(r.SkippedServices) != 3 {
		t.Errorf("services %d kept %d usable %d (recorded %d), skipped %+v", r.Services, r.ServicesKept, r.Usable, rec.anchors, r.SkippedServices)
	}

	t.Run("ok/restart-with-the-url-down", func(t *testing.T) {
		down, err := freeport.Addr()
		if err != nil {
			t.Fatal(err)
		}
		rec2 := &recorder{}
		s2, err := New(Options{URL: "http://" + down + "/TSL-IT.xml", Signer: f.signer.Cert, CacheFile: cache, Timeout: timeout, Recorder: rec2})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s2.LoadCache(); !ok || err != nil {
			t.Fatalf("LoadCache: %v %v", ok, err)
		}
		if l := s2.Current(); l.Scheme.SequenceNumber != 3 || l.Source != "cache" || !l.VerifiedAt.Equal(cur.VerifiedAt.Truncate(time.Second)) && l.VerifiedAt.Sub(cur.VerifiedAt).Abs() > time.Second {
			t.Fatalf("from the cache: sequence %d source %s verified %v (fetched %v)", l.Scheme.SequenceNumber, l.Source, l.VerifiedAt, cur.VerifiedAt)
		}
		var fe *FetchError
		if err := s2.Fetch(ctx); !errors.As(err, &fe) || fe.Outcome != OutcomeUnreachable {
			t.Fatalf("fetch from a closed port: %v", err)
		}
		if s2.Current().Scheme.SequenceNumber != 3 || rec2.count(OutcomeUnreachable) != 1 || rec2.anchors != 1 {
			t.Fatalf("after the failed fetch: %+v %v", s2.Current().Scheme, rec2.outcomes)
		}
	})
	t.Run("fail/cache-tampered", func(t *testing.T) {
		if err := os.WriteFile(cache, tampered, 0o644); err != nil {
			t.Fatal(err)
		}
		s3, err := New(Options{URL: ls.URL, Signer: f.signer.Cert, CacheFile: cache})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s3.LoadCache(); ok || !errors.Is(err, x509cns.ErrTSLSignature) || !strings.Contains(err.Error(), "bad_signature") {
			t.Fatalf("LoadCache of a tampered file: %v %v", ok, err)
		}
		if s3.Current() != nil {
			t.Fatal("a tampered cache file is in use")
		}
	})
}

// TestSyncerRun: the schedule fetches every Refresh, and after a failure
// every Retry, until its context ends.
func TestSyncerRun(t *testing.T) {
	f := newFixture(t)
	ls := newListServer(t)
	ls.set(func(ls *listServer) { ls.status = http.StatusServiceUnavailable })
	s, err := New(Options{URL: ls.URL, Signer: f.signer.Cert, Refresh: time.Hour, Retry: 100 * time.Millisecond,
		Jitter: func(time.Duration) time.Duration { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx, 0) }()
	deadline := time.Now().Add(5 * time.Second)
	for ls.requests.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 5s with a retry of 100ms", ls.requests.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A good list: the next fetch is an hour away.
	ls.set(func(ls *listServer) { ls.body = sign(t, f, 1, true, false) })
	for s.Current() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the good list was not fetched")
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := ls.requests.Load()
	time.Sleep(500 * time.Millisecond)
	if got := ls.requests.Load(); got != n {
		t.Errorf("%d fetches within 500ms of a good one, refresh is 1h", got-n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
