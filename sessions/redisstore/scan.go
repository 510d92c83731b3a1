package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

var _ sessions.Scanner = (*Store)(nil)

// scanBatch is the COUNT hint of one SCAN step and the size of one
// pipeline of HGETs.
const scanBatch = 500

// ScanSessions implements sessions.Scanner: SCAN over the session keys
// (every master of a Cluster), reading each record with HGETALL. A
// corrupt record is skipped, not the end of the walk: the error naming it
// is returned once every other session has been passed to fn.
func (s *Store) ScanSessions(ctx context.Context, fn func(*sessions.Session) error) error {
	if cc, ok := s.c.(*redis.ClusterClient); ok {
		// ForEachMaster scans the masters at once: fn is called one
		// record at a time, and never again after it has failed.
		fn = serialized(fn)
		return wrap(cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return s.scanNode(ctx, node, fn)
		}))
	}
	return s.scanNode(ctx, s.c, fn)
}

// serialized makes fn safe for concurrent callers: one call at a time, and
// after its first error every caller gets that error without a call.
func serialized(fn func(*sessions.Session) error) func(*sessions.Session) error {
	var mu sync.Mutex
	var failed error
	return func(sess *sessions.Session) error {
		mu.Lock()
		defer mu.Unlock()
		if failed == nil {
			failed = fn(sess)
		}
		return failed
	}
}

func (s *Store) scanNode(ctx context.Context, c redis.Cmdable, fn func(*sessions.Session) error) error {
	match := s.prefix + "s:{*}"
	var (
		cursor  uint64
		corrupt error
	)
	for {
		keys, next, err := c.Scan(ctx, cursor, match, scanBatch).Result()
		if err != nil {
			return wrap(err)
		}
		bad, err := s.scanKeys(ctx, c, keys, fn)
		if err != nil {
			return err
		}
		corrupt = errors.Join(corrupt, bad)
		if cursor = next; cursor == 0 {
			return corrupt
		}
	}
}

// scanKeys passes the records of keys to fn; bad names the corrupt ones.
func (s *Store) scanKeys(ctx context.Context, c redis.Cmdable, keys []string, fn func(*sessions.Session) error) (bad, err error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := c.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.HGetAll(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	for i, k := range keys {
		m, err := cmds[i].Result()
		if err != nil || len(m) == 0 {
			continue // gone since SCAN listed it
		}
		hash := strings.TrimSuffix(strings.TrimPrefix(k, s.prefix+"s:{"), "}")
		rec, err := decode(hash, m)
		if err != nil {
			bad = errors.Join(bad, err)
			continue
		}
		if err := fn(rec); err != nil {
			return bad, err
		}
	}
	return bad, nil
}
