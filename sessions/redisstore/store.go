package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

var _ sessions.Store = (*Store)(nil)

// StoreOptions configures New. Zero values take the defaults.
type StoreOptions struct {
	// Prefix starts every key; default "cnsgate:". It must not contain '{' or
	// '}', which would break the Cluster hash tags.
	Prefix string
	Now    func() time.Time // default time.Now
	Rand   io.Reader        // default crypto/rand.Reader
	// Grace is how long Redis keeps a key past its deadline, so that a late
	// reader is told "expired" rather than "not found"; default one minute.
	Grace time.Duration
	// MaxValueBytes bounds one ephemeral value; default
	// sessions.DefaultMaxValueBytes. A longer one is refused with
	// sessions.ErrTooLarge.
	MaxValueBytes int
}

// Store is a sessions.Store on Redis. Its Ephemeral method gives the
// sessions.Ephemeral sharing its client and options. It is safe for
// concurrent use; it never closes the client.
type Store struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
	grace  time.Duration
	// maxValue bounds one ephemeral value.
	maxValue int

	randMu sync.Mutex
	rand   io.Reader
}

// New returns a Store on c.
func New(c redis.UniversalClient, o StoreOptions) (*Store, error) {
	if c == nil {
		return nil, errors.New("sessions: redis: nil client")
	}
	s := &Store{c: c, prefix: o.Prefix, now: o.Now, rand: o.Rand, grace: o.Grace, maxValue: o.MaxValueBytes}
	if s.maxValue <= 0 {
		s.maxValue = sessions.DefaultMaxValueBytes
	}
	if s.prefix == "" {
		s.prefix = "cnsgate:"
	}
	if strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("sessions: redis: key prefix %q contains a brace", s.prefix)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.grace <= 0 {
		s.grace = time.Minute
	}
	return s, nil
}

func (s *Store) sessionKey(hash string) string { return s.prefix + "s:{" + hash + "}" }

// wrap marks an error as coming from Redis; redis.Nil never reaches it.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sessions: redis: %w", err)
}

// Create implements sessions.Store.
func (s *Store) Create(ctx context.Context, sess *sessions.Session, idle, absolute time.Duration) (string, error) {
	now := s.now()
	if err := sess.Start(now, idle, absolute); err != nil {
		return "", err
	}
	s.randMu.Lock()
	id, err := sessions.NewID(s.rand)
	s.randMu.Unlock()
	if err != nil {
		return "", err
	}
	hash := sessions.HashKey(id)
	sessions.SortParticipants(sess.Participants)
	fields, err := encode(sess)
	if err != nil {
		return "", err
	}

	if err := s.write(ctx, hash, sess, fields, now); err != nil {
		return "", err
	}
	sess.ID, sess.IDHash = id, hash
	return id, nil
}

// write stores a new session and lists it in its indexes. On one server
// (standalone or Sentinel) that is one script, one round trip, atomic. On
// a Cluster the indexes hash to other slots than the session: they are
// written first, then the session, so that a live session is always
// listed (see doc.go).
func (s *Store) write(ctx context.Context, hash string, sess *sessions.Session, fields []any, now time.Time) error {
	indexTTL := ms(sess.AbsoluteDeadline.Sub(now) + s.grace)
	sessionTTL := ms(sess.IdleDeadline.Sub(now) + s.grace)
	key := s.sessionKey(hash)
	indexes := []string{s.cfIndex(sess.FiscalCode).key, s.cardIndex(sess.CardFingerprint).key}
	if _, cluster := s.c.(*redis.ClusterClient); !cluster {
		args := append([]any{sessionTTL, indexTTL, hash}, fields...)
		return wrap(createSession.Run(ctx, s.c, append([]string{key}, indexes...), args...).Err())
	}
	pipe := s.c.Pipeline()
	for _, index := range indexes {
		addToIndex.Eval(ctx, pipe, []string{index}, 0, indexTTL, hash)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap(err)
	}
	args := append([]any{sessionTTL, indexTTL, hash}, fields...)
	return wrap(createSession.Run(ctx, s.c, []string{key}, args...).Err())
}

// Get implements sessions.Store.
func (s *Store) Get(ctx context.Context, id string) (*sessions.Session, error) {
	hash := sessions.HashKey(id)
	m, err := s.c.HGetAll(ctx, s.sessionKey(hash)).Result()
	if err != nil {
		return nil, wrap(err)
	}
	if len(m) == 0 {
		return nil, sessions.ErrNotFound
	}
	rec, err := decode(hash, m)
	if err != nil {
		return nil, err
	}
	if err := rec.Expired(s.now()); err != nil {
		return nil, s.expire(ctx, id, err)
	}
	rec.ID = id
	return rec, nil
}

// GetByHash implements sessions.Store: one HGETALL of the session's key.
func (s *Store) GetByHash(ctx context.Context, idHash string) (*sessions.Session, error) {
	if !validHash(idHash) {
		return nil, sessions.ErrNotFound
	}
	m, err := s.c.HGetAll(ctx, s.sessionKey(idHash)).Result()
	if err != nil {
		return nil, wrap(err)
	}
	return s.byHash(ctx, idHash, m)
}

// byHash is the end of GetByHash: the session decoded from the hash m
// read under idHash, removed and reported expired when past a deadline.
func (s *Store) byHash(ctx context.Context, idHash string, m map[string]string) (*sessions.Session, error) {
	if len(m) == 0 {
		return nil, sessions.ErrNotFound
	}
	rec, err := decode(idHash, m)
	if err != nil {
		return nil, err
	}
	if exp := rec.Expired(s.now()); exp != nil {
		gone, err := s.remove(ctx, idHash)
		if err != nil {
			return nil, err
		}
		exp.(*sessions.ExpiredError).Session = gone
		return nil, exp
	}
	return rec, nil
}

// validHash reports whether h is a HashKey: 64 lowercase hex digits. Any
// other string names no session, and must not reach a key (a '}' would
// move it to another hash slot).
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Touch implements sessions.Store.
func (s *Store) Touch(ctx context.Context, id string) error {
	code, err := touch.Run(ctx, s.c, []string{s.sessionKey(sessions.HashKey(id))},
		s.now().UnixMilli(), ms(s.grace)).Int()
	if err != nil {
		return wrap(err)
	}
	return s.outcome(ctx, id, code)
}

// AddParticipant implements sessions.Store.
func (s *Store) AddParticipant(ctx context.Context, id string, p sessions.Participant) error {
	if err := p.Validate(); err != nil {
		return err
	}
	now := s.now()
	if p.JoinedAt.IsZero() {
		p.JoinedAt = now
	}
	field, val, err := encodeParticipant(p)
	if err != nil {
		return err
	}
	code, err := addParticipant.Run(ctx, s.c, []string{s.sessionKey(sessions.HashKey(id))},
		now.UnixMilli(), field, val).Int()
	if err != nil {
		return wrap(err)
	}
	return s.outcome(ctx, id, code)
}

// outcome turns a script's answer into the method's error.
func (s *Store) outcome(ctx context.Context, id string, code int) error {
	switch code {
	case scriptDone:
		return nil
	case scriptMissing:
		return sessions.ErrNotFound
	case scriptIdle:
		return s.expire(ctx, id, &sessions.ExpiredError{Cause: sessions.CauseIdle})
	case scriptAbsolute:
		return s.expire(ctx, id, &sessions.ExpiredError{Cause: sessions.CauseAbsolute})
	}
	return fmt.Errorf("sessions: redis: unexpected script answer %d", code)
}

// expire removes a session found past a deadline and returns exp, an
// *sessions.ExpiredError, carrying the record if this call removed it.
func (s *Store) expire(ctx context.Context, id string, exp error) error {
	rec, err := s.remove(ctx, sessions.HashKey(id))
	if err != nil {
		return err
	}
	if rec != nil {
		rec.ID = id
		exp.(*sessions.ExpiredError).Session = rec
	}
	return exp
}

// Delete implements sessions.Store. When only the index cleanup fails, it
// returns the deleted record together with the error: the session is gone
// and its stale index entries are pruned later.
func (s *Store) Delete(ctx context.Context, id string) (*sessions.Session, error) {
	rec, err := s.remove(ctx, sessions.HashKey(id))
	if rec != nil {
		rec.ID = id
	}
	if err != nil {
		return rec, err
	}
	if rec == nil {
		return nil, sessions.ErrNotFound
	}
	return rec, nil
}

// DeleteByHash implements sessions.Store.
func (s *Store) DeleteByHash(ctx context.Context, idHash string) (*sessions.Session, error) {
	rec, err := s.remove(ctx, idHash)
	if err != nil {
		return rec, err
	}
	if rec == nil {
		return nil, sessions.ErrNotFound
	}
	return rec, nil
}

// remove deletes a session and then its index entries, and returns the
// record, or nil when there was none. The read and the deletion are one
// transaction, so concurrent callers never both receive the record. When
// only the index cleanup fails, it returns the record and the error.
func (s *Store) remove(ctx context.Context, hash string) (*sessions.Session, error) {
	tx := s.c.TxPipeline()
	all := tx.HGetAll(ctx, s.sessionKey(hash))
	tx.Del(ctx, s.sessionKey(hash))
	if _, err := tx.Exec(ctx); err != nil {
		return nil, wrap(err)
	}
	if len(all.Val()) == 0 {
		return nil, nil
	}
	rec, err := decode(hash, all.Val())
	if err != nil {
		return nil, err
	}
	pipe := s.c.Pipeline()
	for _, idx := range []index{s.cfIndex(rec.FiscalCode), s.cardIndex(rec.CardFingerprint)} {
		if _, legacy := all.Val()[legacyRecord]; legacy {
			pipe.SRem(ctx, idx.legacy, hash)
		} else {
			pipe.HDel(ctx, idx.key, hash)
		}
	}
	_, err = pipe.Exec(ctx)
	return rec, wrap(err)
}

// Ping implements sessions.Store.
func (s *Store) Ping(ctx context.Context) error {
	return wrap(s.c.Ping(ctx).Err())
}

// ms is d in whole milliseconds, at least one.
func ms(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}
