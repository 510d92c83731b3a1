package revocation

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// cachedChecker starts a checker in mode crl with the CRL cache in dir.
func cachedChecker(t *testing.T, e *env, dir string) *Checker {
	t.Helper()
	c := e.checker(t, Options{Mode: ModeCRL, CRLCacheDir: dir})
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCRLCacheSurvivesRestart: a checker saves the CRL it fetched; a new
// checker on the same directory, with the CRL server down, answers from
// it (good and revoked) until nextUpdate plus grace, and ignores a
// tampered, foreign or expired file.
func TestCRLCacheSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "cache")
	good, revoked := e.card(t), e.revoked(t)

	first := cachedChecker(t, e, dir)
	if r := first.Check(context.Background(), good, e.ca.Cert); r.Status != StatusGood {
		t.Fatalf("first fetch: %+v", r)
	}
	first.Close()
	path := filepath.Join(dir, CacheFileName(e.ca.Cert))
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no cached CRL: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("cache file mode %v", fi.Mode())
	}

	e.crl.SetOptions(cnstest.CRLServerOptions{HTTPStatus: http.StatusServiceUnavailable})
	before := e.crl.Requests()
	second := cachedChecker(t, e, dir)
	if r := second.Check(context.Background(), good, e.ca.Cert); r.Status != StatusGood {
		t.Fatalf("good card from the cache: %+v", r)
	}
	if r := second.Check(context.Background(), revoked, e.ca.Cert); r.Status != StatusRevoked {
		t.Fatalf("revoked card from the cache: %+v", r)
	}
	if n := e.crl.Requests() - before; n != 0 {
		t.Errorf("the CRL server was asked %d times with a usable cached CRL", n)
	}
	second.Close()

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T)
	}{
		{"tampered", func(t *testing.T) {
			bad := append([]byte(nil), saved...)
			bad[len(bad)-10] ^= 0x01 // in the signature
			writeFile(t, path, bad)
		}},
		{"foreign-name", func(t *testing.T) {
			os.Remove(path)
			writeFile(t, filepath.Join(dir, "00112233445566778899aabbccddeeff.crl"), saved)
		}},
		{"expired", func(t *testing.T) {
			writeFile(t, path, saved)
			e.clock.Advance(24*time.Hour + DefaultCRLGrace + time.Minute)
		}},
		{"garbage", func(t *testing.T) { writeFile(t, path, []byte("not a CRL")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup(t)
			c := cachedChecker(t, e, dir)
			r := c.Check(context.Background(), revoked, e.ca.Cert)
			if r.Status != StatusUnavailable || !errors.Is(r.Cause, ErrUnreachable) {
				t.Fatalf("with a %s cache file: %+v", tc.name, r)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCRLCacheWriteIsAtomic: a newer CRL replaces the file through a
// temporary file; leftovers of an interrupted write are removed at start.
func TestCRLCacheWriteIsAtomic(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	leftover := filepath.Join(dir, "."+CacheFileName(e.ca.Cert)+".123.tmp")
	writeFile(t, leftover, []byte("half"))
	c := cachedChecker(t, e, dir)
	card := e.card(t)
	if r := c.Check(context.Background(), card, e.ca.Cert); r.Status != StatusGood {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file kept: %v", err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, CacheFileName(e.ca.Cert)))
	e.clock.Advance(time.Minute)
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(filepath.Join(dir, CacheFileName(e.ca.Cert)))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || len(first) == 0 || string(first) == string(second) {
		t.Fatalf("after a refresh: %d files, CRL changed %v", len(entries), string(first) != string(second))
	}
}
