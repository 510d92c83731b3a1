package redisstore

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Mode names the Redis deployment (sessions.redis.mode).
type Mode string

// The deployments NewClient builds a client for.
const (
	ModeStandalone Mode = "standalone" // one server: redis.Client
	ModeSentinel   Mode = "sentinel"   // a master found through Sentinels: redis.NewFailoverClient
	ModeCluster    Mode = "cluster"    // Redis Cluster: redis.ClusterClient with its own reload policy
)

// Modes lists the valid modes, in the order error messages name them.
var Modes = []Mode{ModeStandalone, ModeSentinel, ModeCluster}

// DeriveMode is the mode of a configuration that names none, the rule
// go-redis's UniversalClient applies: Sentinel when a master name is set,
// Cluster when several addresses are given, else standalone. A Cluster
// reached through one seed address needs the mode set explicitly.
func DeriveMode(masterName string, addrs int) Mode {
	switch {
	case masterName != "":
		return ModeSentinel
	case addrs > 1:
		return ModeCluster
	default:
		return ModeStandalone
	}
}

// Options selects and configures the Redis deployment; cmd/cnsgate fills it
// from sessions.redis in the configuration.
type Options struct {
	// Mode is the deployment; empty derives it from MasterName and Addrs
	// (DeriveMode).
	Mode Mode
	// Addrs is one host:port for a standalone server, the seed nodes of a
	// Cluster (one is enough), or the Sentinels.
	Addrs []string
	// MasterName is the name of the master the Sentinels monitor; required
	// in Sentinel mode, forbidden in the others.
	MasterName string
	Username   string
	Password   string
	DB         int         // standalone and Sentinel only; must be 0 on a Cluster
	TLS        *tls.Config // nil for plain TCP; ServerName defaults to each address's host

	// Bounds on a failing Redis; zero values take the defaults below, chosen
	// so that a login fails in about two seconds when Redis is down or hung
	// (go-redis's own defaults would take 2 s when the port is closed and
	// far longer when it does not answer). MaxRetries -1 disables retries.
	DialTimeout  time.Duration // default 1 s
	ReadTimeout  time.Duration // default 1 s
	WriteTimeout time.Duration // default 1 s
	MaxRetries   int           // retries of a failed command; default 1
	// DialAttempts is how many times one connection is dialled before the
	// command fails (go-redis's DialerRetries); default 1. go-redis keeps
	// re-dialling in the background and recovers when Redis returns.
	DialAttempts int

	// ClusterReloadInterval bounds how old the Cluster slot map may grow
	// while commands succeed; default 2 s. Errors reload it at once
	// (cluster.go).
	ClusterReloadInterval time.Duration
}

// Defaults of the Options bounds.
const (
	DefaultDialTimeout  = time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
	DefaultMaxRetries   = 1
	DefaultDialAttempts = 1
)

// NewClient builds the client for o's mode: a redis.Client for a standalone
// server, a Sentinel-backed failover client, or a ClusterClient that reloads
// its slot map on every connection error and redirect (newClusterClient). A
// request's context deadline bounds its Redis calls. The client reconnects by
// itself after an outage or a failover; close it on shutdown.
func NewClient(o Options) (redis.UniversalClient, error) {
	mode, err := o.check()
	if err != nil {
		return nil, err
	}
	switch mode {
	case ModeSentinel:
		return newFailoverClient(o), nil
	case ModeCluster:
		return newClusterClient(o), nil
	default:
		return redis.NewClient(&redis.Options{
			Addr: o.Addrs[0], Username: o.Username, Password: o.Password, DB: o.DB,
			TLSConfig: o.TLS, ClientName: "cnsgate",
			DialTimeout:           cmp.Or(o.DialTimeout, DefaultDialTimeout),
			ReadTimeout:           cmp.Or(o.ReadTimeout, DefaultReadTimeout),
			WriteTimeout:          cmp.Or(o.WriteTimeout, DefaultWriteTimeout),
			MaxRetries:            cmp.Or(o.MaxRetries, DefaultMaxRetries),
			DialerRetries:         cmp.Or(o.DialAttempts, DefaultDialAttempts),
			ContextTimeoutEnabled: true,
		}), nil
	}
}

// check returns o's mode, derived when unset, after checking that the other
// options fit it.
func (o Options) check() (Mode, error) {
	mode := o.Mode
	if mode == "" {
		mode = DeriveMode(o.MasterName, len(o.Addrs))
	}
	switch {
	case !slices.Contains(Modes, mode):
		return "", fmt.Errorf("sessions: redis: unknown mode %q", mode)
	case len(o.Addrs) == 0:
		return "", errors.New("sessions: redis: no address")
	case mode == ModeStandalone && len(o.Addrs) > 1:
		return "", fmt.Errorf("sessions: redis: standalone mode takes one address, not %d", len(o.Addrs))
	case mode == ModeSentinel && o.MasterName == "":
		return "", errors.New("sessions: redis: sentinel mode needs a master name")
	case mode != ModeSentinel && o.MasterName != "":
		return "", fmt.Errorf("sessions: redis: a master name is for sentinel mode, not %s", mode)
	case mode == ModeCluster && o.DB != 0:
		return "", errors.New("sessions: redis: a Cluster has only database 0")
	}
	return mode, nil
}

// newFailoverClient builds the Sentinel client: it asks the Sentinels for
// the master at every dial and follows +switch-master, closing the
// connections to the old master.
func newFailoverClient(o Options) *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		SentinelAddrs: o.Addrs, MasterName: o.MasterName,
		Username: o.Username, Password: o.Password, DB: o.DB,
		TLSConfig: o.TLS, ClientName: "cnsgate",
		DialTimeout:           cmp.Or(o.DialTimeout, DefaultDialTimeout),
		ReadTimeout:           cmp.Or(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:          cmp.Or(o.WriteTimeout, DefaultWriteTimeout),
		MaxRetries:            cmp.Or(o.MaxRetries, DefaultMaxRetries),
		MinRetryBackoff:       retryBackoffMin,
		MaxRetryBackoff:       retryBackoffMax,
		DialerRetries:         cmp.Or(o.DialAttempts, DefaultDialAttempts),
		ContextTimeoutEnabled: true,
	})
}
