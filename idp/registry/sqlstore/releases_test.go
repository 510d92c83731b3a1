package sqlstore

import (
	"testing"
	"time"
)

// TestReleases: an agreement counts for its citizen, relying party and
// list of fields only; agreeing to another list replaces it; bad input is
// refused with the reason. Both dialects.
func TestReleases(t *testing.T) {
	runSuite(t, []suiteCase{
		{"ok/agree-replace", func(t *testing.T, e *env) {
			if ok, err := e.db.ReleaseAgreed(ctx, gino, "esenzioni", "h1"); err != nil || ok {
				t.Fatalf("agreed before any agreement: %v %v", ok, err)
			}
			if err := e.db.AgreeRelease(ctx, gino, "esenzioni", "h1", e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				cf, client, hash string
				want             bool
			}{{gino, "esenzioni", "h1", true}, {gino, "esenzioni", "h2", false}, {gino, "cms", "h1", false}, {anna, "esenzioni", "h1", false}} {
				if ok, err := e.db.ReleaseAgreed(ctx, c.cf, c.client, c.hash); err != nil || ok != c.want {
					t.Fatalf("ReleaseAgreed(%s, %s, %s) = %v %v, want %v", c.cf, c.client, c.hash, ok, err, c.want)
				}
			}
			e.clock.Advance(time.Hour)
			if err := e.db.AgreeRelease(ctx, gino, "esenzioni", "h2", e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if ok, _ := e.db.ReleaseAgreed(ctx, gino, "esenzioni", "h1"); ok {
				t.Fatal("the replaced list still counts")
			}
			if ok, _ := e.db.ReleaseAgreed(ctx, gino, "esenzioni", "h2"); !ok {
				t.Fatal("the new list does not count")
			}
		}},
		{"bad/empty", func(t *testing.T, e *env) {
			if err := e.db.AgreeRelease(ctx, gino, "", "h1", e.clock.Now()); err == nil {
				t.Fatal("an agreement without a relying party was stored")
			}
		}},
	})
}
