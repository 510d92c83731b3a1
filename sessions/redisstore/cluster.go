package redisstore

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Cluster reload policy. go-redis v9.23.0 reloads a ClusterClient's slot
// map only on MOVED/ASK/READONLY replies and every 60 s; a master that was
// killed sends none of those, so until the next periodic reload every
// command for its slots goes on dialling the dead address, long after its
// replica took over. newClusterClient adds what is missing: every connection
// error or CLUSTERDOWN/TRYAGAIN reply schedules a reload (go-redis
// coalesces them, one CLUSTER SLOTS at most every 200 ms), and the command
// is retried on a fresh map, a bounded number of times with backoff.
const (
	// DefaultClusterReloadInterval bounds the age of the slot map while
	// commands succeed.
	DefaultClusterReloadInterval = 2 * time.Second
	// clusterRedirects is how many times one command is retried or
	// redirected: enough for a reload to land between attempts (backoff
	// 50, 100, 200, 400, 400 ms) and far below a login's deadline.
	clusterRedirects = 5
	retryBackoffMin  = 50 * time.Millisecond
	retryBackoffMax  = 400 * time.Millisecond
)

// newClusterClient builds a ClusterClient that routes every command to the
// slot's master (ReadOnly false: a replica may lag behind a session write)
// and keeps its slot map current with reloadHook.
func newClusterClient(o Options) *redis.ClusterClient {
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: o.Addrs, Username: o.Username, Password: o.Password,
		TLSConfig: o.TLS, ClientName: "cnsgate",
		ReadOnly:     false,
		MaxRedirects: clusterRedirects,
		// Node clients never retry on their own: the cluster loop retries on
		// the current map instead of insisting on one address.
		MaxRetries:                 -1,
		MinRetryBackoff:            retryBackoffMin,
		MaxRetryBackoff:            retryBackoffMax,
		ClusterStateReloadInterval: cmp.Or(o.ClusterReloadInterval, DefaultClusterReloadInterval),
		// A node that failed is skipped for replica reads only; one second
		// keeps a returning node usable at once.
		FailingTimeoutSeconds: 1,
		DialTimeout:           cmp.Or(o.DialTimeout, DefaultDialTimeout),
		ReadTimeout:           cmp.Or(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:          cmp.Or(o.WriteTimeout, DefaultWriteTimeout),
		DialerRetries:         cmp.Or(o.DialAttempts, DefaultDialAttempts),
		ContextTimeoutEnabled: true,
	})
	h := reloadHook{reload: c.ReloadState}
	// On each node: a failed attempt inside the cluster's retry loop reloads
	// the map before the next attempt. On the cluster: transactions
	// (MULTI/EXEC), which bypass the node hooks.
	c.OnNewNode(func(node *redis.Client) { node.AddHook(h) })
	c.AddHook(h)
	return c
}

// reloadHook schedules a slot-map reload whenever a command or pipeline
// fails in a way that may mean the topology changed.
type reloadHook struct {
	reload func(context.Context)
}

var _ redis.Hook = reloadHook{}

func (reloadHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if topologyError(err) {
			h.reload(context.WithoutCancel(ctx))
		}
		return err
	}
}

func (h reloadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if topologyError(err) {
			h.reload(context.WithoutCancel(ctx))
		}
		return err
	}
}

// topologyError reports whether err may come from a stale slot map: any
// failure to reach or hear from a node (refused, reset, EOF, timeout, pool
// exhausted) and the replies a cluster gives while its slots move. Other
// replies (a script error, redis.Nil) say nothing about the topology, nor
// does the caller's own cancellation.
func topologyError(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "MOVED", "ASK", "READONLY", "MASTERDOWN", "LOADING"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}
