package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/registry/registrytest"
	"github.com/cnsgate/cnsgate/x509cns"
)

// backend is a database the conformance suite runs against. Each case gets
// a database of its own: a new SQLite file, a new PostgreSQL schema.
type backend struct {
	name   string
	driver string
	dsn    func(testing.TB) string
}

var backends = []backend{
	{"sqlite", DriverSQLite, registrytest.SQLiteDSN},
	{"postgres", DriverPostgres, registrytest.PostgresDSN},
}

// env is what a conformance case works with.
type env struct {
	b     backend
	dsn   string
	clock *clock
	db    *DB
}

// reopen opens the case's database again, with the case's clock.
func (e *env) reopen(t *testing.T) (*DB, error) {
	t.Helper()
	d, err := Open(context.Background(), e.b.driver, e.dsn, WithNow(e.clock.Now))
	if err == nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}

// suiteCase is one named case of the conformance suite.
type suiteCase struct {
	name string
	run  func(t *testing.T, e *env)
}

// runSuite runs every case against every backend, in parallel, each on a
// fresh database.
func runSuite(t *testing.T, cases []suiteCase) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					e := &env{b: b, dsn: b.dsn(t), clock: newClock()}
					d, err := e.reopen(t)
					if err != nil {
						t.Fatalf("Open(%s): %v", b.driver, err)
					}
					e.db = d
					c.run(t, e)
				})
			}
		})
	}
}

// clock is a settable clock for WithNow.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Nanoseconds on purpose: the store truncates to microseconds.
	return &clock{t: time.Date(2025, 3, 14, 9, 26, 53, 589793238, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// us is t as the store keeps it.
func us(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// cfOf completes the first 15 characters of a fiscal code with its check
// character.
func cfOf(first15 string) string {
	for c := 'A'; c <= 'Z'; c++ {
		if cf := first15 + string(c); x509cns.ValidateFiscalCode(cf) == nil {
			return cf
		}
	}
	panic("no check character makes " + first15 + " a fiscal code")
}

// Fiscal codes of the tests' citizens.
var (
	mario = "RSSMRA80A01H501U"
	laura = cfOf("BNCLRA90D55L219")
	gino  = cfOf("VRDGNI75C12F205")
	anna  = cfOf("FRRNNA85T60A944")
	bad   = "RSSMRA80A01H501A" // wrong check character
)

// fp is the fingerprint of a test card named label.
func fp(label string) string {
	h := sha256.Sum256([]byte(label))
	return hex.EncodeToString(h[:])
}

// card is a registration request for a test card.
func card(cf, label string) registry.Registration {
	return registry.Registration{
		FiscalCode:  cf,
		CardID:      "8038000000000000" + label,
		Issuer:      "Regione Test CA Cittadini",
		Serial:      "0x" + fp(label)[:12],
		Fingerprint: fp(label),
		GivenName:   "Mario",
		FamilyName:  "Rossi",
		Region:      "Lazio",
		CardType:    "regional",
	}
}

var ctx = context.Background()
