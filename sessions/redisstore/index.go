package redisstore

import (
	"context"
	"errors"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

// ListByFiscalCode implements sessions.Store.
func (s *Store) ListByFiscalCode(ctx context.Context, fiscalCode string) ([]*sessions.Session, error) {
	return s.list(ctx, s.cfIndex(fiscalCode))
}

// DeleteByFiscalCode implements sessions.Store. On a Redis error it returns
// the sessions deleted so far with the error.
func (s *Store) DeleteByFiscalCode(ctx context.Context, fiscalCode string) ([]*sessions.Session, error) {
	return s.deleteAll(ctx, s.cfIndex(fiscalCode))
}

// DeleteByCard implements sessions.Store. On a Redis error it returns the
// sessions deleted so far with the error.
func (s *Store) DeleteByCard(ctx context.Context, fingerprint string) ([]*sessions.Session, error) {
	return s.deleteAll(ctx, s.cardIndex(fingerprint))
}

// index names the two keys of one index: the hash whose fields are the
// members (written now), and the set of the earlier layout, still read
// and pruned during a rolling upgrade. Both have the same hash tag.
type index struct{ key, legacy string }

func (s *Store) cfIndex(fiscalCode string) index {
	h := sessions.HashKey(fiscalCode)
	return index{s.prefix + "c:{" + h + "}", s.prefix + "cf:{" + h + "}"}
}

func (s *Store) cardIndex(fingerprint string) index {
	return index{s.prefix + "k:{" + fingerprint + "}", s.prefix + "card:{" + fingerprint + "}"}
}

// members reads an index in one round trip: the fields of its hash and the
// members of its earlier set.
func (s *Store) members(ctx context.Context, idx index) ([]string, error) {
	pipe := s.c.Pipeline()
	fields := pipe.HKeys(ctx, idx.key)
	old := pipe.SMembers(ctx, idx.legacy)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap(err)
	}
	out := fields.Val()
	for _, m := range old.Val() {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// list reads every session named in an index in one pipeline, returns the
// live ones, and prunes the others: members whose session is gone are
// removed from the index, expired sessions are deleted.
func (s *Store) list(ctx context.Context, idx index) ([]*sessions.Session, error) {
	members, err := s.members(ctx, idx)
	if err != nil || len(members) == 0 {
		return nil, err
	}
	pipe := s.c.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(members))
	for i, hash := range members {
		cmds[i] = pipe.HGetAll(ctx, s.sessionKey(hash))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrap(err)
	}
	now := s.now()
	var (
		out   []*sessions.Session
		stale []any
		errs  error
	)
	for i, hash := range members {
		m := cmds[i].Val()
		if len(m) == 0 {
			stale = append(stale, hash)
			continue
		}
		rec, err := decode(hash, m)
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		if rec.Expired(now) != nil {
			_, err := s.remove(ctx, hash)
			errs = errors.Join(errs, err)
			continue
		}
		out = append(out, rec)
	}
	errs = errors.Join(errs, s.prune(ctx, idx, stale))
	sessions.SortSessions(out)
	return out, errs
}

// deleteAll removes every session named in an index and returns those
// that were live.
func (s *Store) deleteAll(ctx context.Context, idx index) ([]*sessions.Session, error) {
	members, err := s.members(ctx, idx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var (
		out   []*sessions.Session
		stale []any
	)
	for _, hash := range members {
		rec, err := s.remove(ctx, hash)
		if rec != nil && rec.Expired(now) == nil {
			out = append(out, rec)
		}
		if err != nil {
			sessions.SortSessions(out)
			return out, err
		}
		if rec == nil {
			stale = append(stale, hash)
		}
	}
	sessions.SortSessions(out)
	return out, s.prune(ctx, idx, stale)
}

// prune removes members whose session no longer exists from both keys of
// an index.
func (s *Store) prune(ctx context.Context, idx index, stale []any) error {
	if len(stale) == 0 {
		return nil
	}
	fields := make([]string, len(stale))
	for i, m := range stale {
		fields[i] = m.(string)
	}
	pipe := s.c.Pipeline()
	pipe.HDel(ctx, idx.key, fields...)
	pipe.SRem(ctx, idx.legacy, stale...)
	_, err := pipe.Exec(ctx)
	return wrap(err)
}
