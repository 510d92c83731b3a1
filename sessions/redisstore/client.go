package redisstore

import (
	"cmp"
	"crypto/tls"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options selects and configures the Redis deployment; cmd/cnsgate fills it
// from sessions.redis in the configuration.
type Options struct {
	// Addrs is one host:port for a standalone server, several for a Cluster
	// (seed nodes), or the Sentinels when MasterName is set.
	Addrs []string
	// MasterName selects Sentinel: the name of the monitored master.
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
}

// Defaults of the Options bounds.
const (
	DefaultDialTimeout  = time.Second
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
	DefaultMaxRetries   = 1
	DefaultDialAttempts = 1
)

// NewClient builds the client for o with go-redis's UniversalClient rules:
// MasterName set gives a Sentinel-backed client, several Addrs a Cluster
// client, one address a standalone client. A request's context deadline
// bounds its Redis calls. The client reconnects by itself after an outage;
// close it on shutdown.
func NewClient(o Options) (redis.UniversalClient, error) {
	if len(o.Addrs) == 0 {
		return nil, errors.New("sessions: redis: no address")
	}
	if len(o.Addrs) > 1 && o.MasterName == "" && o.DB != 0 {
		return nil, errors.New("sessions: redis: a Cluster has only database 0")
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 o.Addrs,
		MasterName:            o.MasterName,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		TLSConfig:             o.TLS,
		ClientName:            "cnsgate",
		DialTimeout:           cmp.Or(o.DialTimeout, DefaultDialTimeout),
		ReadTimeout:           cmp.Or(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:          cmp.Or(o.WriteTimeout, DefaultWriteTimeout),
		MaxRetries:            cmp.Or(o.MaxRetries, DefaultMaxRetries),
		DialerRetries:         cmp.Or(o.DialAttempts, DefaultDialAttempts),
		ContextTimeoutEnabled: true,
	}), nil
}
