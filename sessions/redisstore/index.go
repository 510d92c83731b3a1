package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

// ListByFiscalCode implements sessions.Store.
func (s *Store) ListByFiscalCode(ctx context.Context, fiscalCode string) ([]*sessions.Session, error) {
	return s.list(ctx, s.cfKey(fiscalCode))
}

// DeleteByFiscalCode implements sessions.Store. On a Redis error it returns
// the sessions deleted so far with the error.
func (s *Store) DeleteByFiscalCode(ctx context.Context, fiscalCode string) ([]*sessions.Session, error) {
	return s.deleteAll(ctx, s.cfKey(fiscalCode))
}

// DeleteByCard implements sessions.Store. On a Redis error it returns the
// sessions deleted so far with the error.
func (s *Store) DeleteByCard(ctx context.Context, fingerprint string) ([]*sessions.Session, error) {
	return s.deleteAll(ctx, s.cardKey(fingerprint))
}

// list reads every session named in an index set in one pipeline, returns
// the live ones, and prunes the others: members whose session is gone are
// removed from the set, expired sessions are deleted.
func (s *Store) list(ctx context.Context, index string) ([]*sessions.Session, error) {
	members, err := s.c.SMembers(ctx, index).Result()
	if err != nil || len(members) == 0 {
		return nil, wrap(err)
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
	errs = errors.Join(errs, s.prune(ctx, index, stale))
	sessions.SortSessions(out)
	return out, errs
}

// deleteAll removes every session named in an index set and returns those
// that were live.
func (s *Store) deleteAll(ctx context.Context, index string) ([]*sessions.Session, error) {
	members, err := s.c.SMembers(ctx, index).Result()
	if err != nil {
		return nil, wrap(err)
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
	return out, s.prune(ctx, index, stale)
}

// prune removes members whose session no longer exists from an index set.
func (s *Store) prune(ctx context.Context, index string, stale []any) error {
	if len(stale) == 0 {
		return nil
	}
	return wrap(s.c.SRem(ctx, index, stale...).Err())
}
