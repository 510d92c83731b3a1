package redisstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

var _ sessions.Ephemeral = (*Ephemeral)(nil)

// Ephemeral is a sessions.Ephemeral on Redis. Each value is stored as the
// string "<deadline unix ms>:<value>" so that its deadline is decided with
// the store's clock; the key's TTL (deadline plus Grace) only cleans up.
type Ephemeral struct{ s *Store }

// Ephemeral returns the Ephemeral values kept with the store's client,
// prefix, clock and grace.
func (s *Store) Ephemeral() *Ephemeral { return &Ephemeral{s} }

func (e *Ephemeral) key(ns, key string) string {
	return e.s.prefix + "e:" + ns + ":{" + sessions.HashKey(key) + "}"
}

// value encodes val with its deadline and returns it with the key's TTL.
func (e *Ephemeral) value(val []byte, ttl time.Duration) ([]byte, time.Duration) {
	deadline := e.s.now().Add(ttl).UnixMilli()
	b := strconv.AppendInt(nil, deadline, 10)
	b = append(b, ':')
	return append(b, val...), ttl + e.s.grace
}

// live decodes a stored value and reports ErrNotFound when its deadline has
// passed.
func (e *Ephemeral) live(stored []byte) ([]byte, error) {
	i := bytes.IndexByte(stored, ':')
	if i < 0 {
		return nil, errors.New("sessions: redis: ephemeral value without deadline")
	}
	deadline, err := strconv.ParseInt(string(stored[:i]), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("sessions: redis: ephemeral value with a bad deadline: %w", err)
	}
	if e.s.now().UnixMilli() >= deadline {
		return nil, sessions.ErrNotFound
	}
	return bytes.Clone(stored[i+1:]), nil
}

// Put implements sessions.Ephemeral.
func (e *Ephemeral) Put(ctx context.Context, ns, key string, val []byte, ttl time.Duration) error {
	if err := e.check(ns, val, ttl); err != nil {
		return err
	}
	v, keyTTL := e.value(val, ttl)
	return wrap(e.s.c.Set(ctx, e.key(ns, key), v, keyTTL).Err())
}

// PutNew implements sessions.Ephemeral.
func (e *Ephemeral) PutNew(ctx context.Context, ns, key string, val []byte, ttl time.Duration) (bool, error) {
	if err := e.check(ns, val, ttl); err != nil {
		return false, err
	}
	now := e.s.now()
	v, keyTTL := e.value(val, ttl)
	stored, err := putNew.Run(ctx, e.s.c, []string{e.key(ns, key)}, now.UnixMilli(), v, ms(keyTTL)).Int()
	if err != nil {
		return false, wrap(err)
	}
	return stored == 1, nil
}

// Swap implements sessions.Ephemeral with SET ... GET: one command, so of
// concurrent swappers only one receives the earlier value.
func (e *Ephemeral) Swap(ctx context.Context, ns, key string, val []byte, ttl time.Duration) ([]byte, bool, error) {
	if err := e.check(ns, val, ttl); err != nil {
		return nil, false, err
	}
	v, keyTTL := e.value(val, ttl)
	stored, err := e.s.c.SetArgs(ctx, e.key(ns, key), v, redis.SetArgs{TTL: keyTTL, Get: true}).Bytes()
	return e.swapped(stored, err)
}

// swapped decodes the answer of SET ... GET: the earlier value, found
// false when there was none or it was past its deadline.
func (e *Ephemeral) swapped(stored []byte, err error) ([]byte, bool, error) {
	prev, err := e.result(stored, err)
	if errors.Is(err, sessions.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return prev, true, nil
}

// Get implements sessions.Ephemeral.
func (e *Ephemeral) Get(ctx context.Context, ns, key string) ([]byte, error) {
	if err := sessions.CheckNamespace(ns); err != nil {
		return nil, err
	}
	stored, err := e.s.c.Get(ctx, e.key(ns, key)).Bytes()
	return e.result(stored, err)
}

// Take implements sessions.Ephemeral with GETDEL: of concurrent takers only
// one receives the value.
func (e *Ephemeral) Take(ctx context.Context, ns, key string) ([]byte, error) {
	if err := sessions.CheckNamespace(ns); err != nil {
		return nil, err
	}
	stored, err := e.s.c.GetDel(ctx, e.key(ns, key)).Bytes()
	return e.result(stored, err)
}

func (e *Ephemeral) result(stored []byte, err error) ([]byte, error) {
	if errors.Is(err, redis.Nil) {
		return nil, sessions.ErrNotFound
	}
	if err != nil {
		return nil, wrap(err)
	}
	return e.live(stored)
}

// Delete implements sessions.Ephemeral.
func (e *Ephemeral) Delete(ctx context.Context, ns, key string) error {
	if err := sessions.CheckNamespace(ns); err != nil {
		return err
	}
	return wrap(e.s.c.Del(ctx, e.key(ns, key)).Err())
}

// check refuses a bad namespace or TTL, and a value over MaxValueBytes
// before it reaches Redis: Redis has no per-key size limit of its own.
func (e *Ephemeral) check(ns string, val []byte, ttl time.Duration) error {
	if err := sessions.CheckNamespace(ns); err != nil {
		return err
	}
	if err := sessions.CheckValueSize(val, e.s.maxValue); err != nil {
		return err
	}
	return sessions.CheckTTL(ttl)
}

var _ sessions.Batcher = (*Ephemeral)(nil)

// GetMany implements sessions.Batcher: one pipeline of GETs.
func (e *Ephemeral) GetMany(ctx context.Context, refs ...sessions.Ref) ([][]byte, error) {
	for _, r := range refs {
		if err := sessions.CheckNamespace(r.NS); err != nil {
			return nil, err
		}
	}
	pipe := e.s.c.Pipeline()
	cmds := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.Get(ctx, e.key(r.NS, r.Key))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, wrap(err)
	}
	out := make([][]byte, len(refs))
	for i, cmd := range cmds {
		stored, err := cmd.Bytes()
		v, err := e.result(stored, err)
		switch {
		case errors.Is(err, sessions.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			out[i] = v
		}
	}
	return out, nil
}

// PutMany implements sessions.Batcher: every entry checked as Put checks
// it, then one pipeline of SETs.
func (e *Ephemeral) PutMany(ctx context.Context, entries ...sessions.Entry) error {
	for _, en := range entries {
		if err := e.check(en.NS, en.Val, en.TTL); err != nil {
			return err
		}
	}
	pipe := e.s.c.Pipeline()
	for _, en := range entries {
		v, keyTTL := e.value(en.Val, en.TTL)
		pipe.Set(ctx, e.key(en.NS, en.Key), v, keyTTL)
	}
	_, err := pipe.Exec(ctx)
	return wrap(err)
}
