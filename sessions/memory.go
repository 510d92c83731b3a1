package sessions

import (
	"context"
	"crypto/rand"
	"io"
	"sync"
	"time"
)

var (
	_ Store     = (*Memory)(nil)
	_ Scanner   = (*Memory)(nil)
	_ Ephemeral = (*MemoryEphemeral)(nil)
)

// MemoryOptions configures NewMemory. Zero values take the defaults.
type MemoryOptions struct {
	Now  func() time.Time // default time.Now
	Rand io.Reader        // default crypto/rand.Reader
	// SweepInterval is how often a background goroutine removes expired
	// sessions and values; default one minute. Negative disables the sweep:
	// expired entries are then removed only when looked up.
	SweepInterval time.Duration
	// MaxValueBytes bounds one ephemeral value; default
	// DefaultMaxValueBytes. A longer one is refused with ErrTooLarge.
	MaxValueBytes int
	// EphemeralLimits caps the number of values held in a namespace
	// (namespace → count): storing one more evicts the oldest of that
	// namespace. A namespace not listed has no cap.
	EphemeralLimits map[string]int
}

// Memory is a Store held in process memory, with its Ephemeral side
// (Memory.Ephemeral): for the demo, tests and single-replica deployments.
// Nothing survives a restart or is shared between replicas. Close stops the
// background sweep.
type Memory struct {
	now  func() time.Time
	rand io.Reader

	mu       sync.Mutex
	sessions map[string]*Session            // by IDHash; ID never kept
	byCF     map[string]map[string]struct{} // HashKey(fiscal code) → IDHashes
	byCard   map[string]map[string]struct{} // card fingerprint → IDHashes
	eph      map[string]ephEntry            // ns + "\x00" + HashKey(key)
	maxValue int
	capped   map[string]*nsOrder // the namespaces of EphemeralLimits

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type ephEntry struct {
	val      []byte
	deadline time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory(o MemoryOptions) *Memory {
	m := &Memory{
		now:      o.Now,
		rand:     o.Rand,
		sessions: map[string]*Session{},
		byCF:     map[string]map[string]struct{}{},
		byCard:   map[string]map[string]struct{}{},
		eph:      map[string]ephEntry{},
		maxValue: o.MaxValueBytes,
		capped:   newOrders(o.EphemeralLimits),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.maxValue <= 0 {
		m.maxValue = DefaultMaxValueBytes
	}
	interval := o.SweepInterval
	if interval == 0 {
		interval = time.Minute
	}
	if interval < 0 {
		close(m.done)
		return m
	}
	go m.sweepEvery(interval)
	return m
}

// Close stops the background sweep. The store stays usable.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, s *Session, idle, absolute time.Duration) (string, error) {
	if err := s.Start(m.now(), idle, absolute); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, err := NewID(m.rand)
	if err != nil {
		return "", err
	}
	s.ID, s.IDHash = id, HashKey(id)
	SortParticipants(s.Participants)
	rec := s.Clone()
	rec.ID = ""
	m.sessions[rec.IDHash] = rec
	addIndex(m.byCF, HashKey(rec.FiscalCode), rec.IDHash)
	addIndex(m.byCard, rec.CardFingerprint, rec.IDHash)
	return id, nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.live(id)
	if err != nil {
		return nil, err
	}
	out := rec.Clone()
	out.ID = id
	return out, nil
}

// GetByHash implements Store.
func (m *Memory) GetByHash(_ context.Context, idHash string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.sessions[idHash]
	if !ok {
		return nil, ErrNotFound
	}
	if err := rec.Expired(m.now()); err != nil {
		err.(*ExpiredError).Session = m.remove(idHash)
		return nil, err
	}
	return rec.Clone(), nil
}

// Touch implements Store.
func (m *Memory) Touch(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.live(id)
	if err != nil {
		return err
	}
	rec.slide(m.now())
	return nil
}

// AddParticipant implements Store.
func (m *Memory) AddParticipant(_ context.Context, id string, p Participant) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.live(id)
	if err != nil {
		return err
	}
	for _, q := range rec.Participants {
		if q.Protocol == p.Protocol && q.ClientID == p.ClientID {
			return nil
		}
	}
	if p.JoinedAt.IsZero() {
		p.JoinedAt = m.now()
	}
	rec.Participants = append(rec.Participants, p)
	SortParticipants(rec.Participants)
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, id string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := m.remove(HashKey(id))
	if rec == nil {
		return nil, ErrNotFound
	}
	rec.ID = id
	return rec, nil
}

// DeleteByHash implements Store.
func (m *Memory) DeleteByHash(_ context.Context, idHash string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rec := m.remove(idHash); rec != nil {
		return rec, nil
	}
	return nil, ErrNotFound
}

// ListByFiscalCode implements Store.
func (m *Memory) ListByFiscalCode(_ context.Context, fiscalCode string) ([]*Session, error) {
	return m.scan(m.byCF, HashKey(fiscalCode), false), nil
}

// DeleteByFiscalCode implements Store.
func (m *Memory) DeleteByFiscalCode(_ context.Context, fiscalCode string) ([]*Session, error) {
	return m.scan(m.byCF, HashKey(fiscalCode), true), nil
}

// DeleteByCard implements Store.
func (m *Memory) DeleteByCard(_ context.Context, fingerprint string) ([]*Session, error) {
	return m.scan(m.byCard, fingerprint, true), nil
}

// Ping implements Store; memory is always ready.
func (m *Memory) Ping(context.Context) error { return nil }

// ScanSessions implements Scanner over a copy taken under the lock, so
// that fn may call the store.
func (m *Memory) ScanSessions(ctx context.Context, fn func(*Session) error) error {
	m.mu.Lock()
	all := make([]*Session, 0, len(m.sessions))
	for _, rec := range m.sessions {
		c := rec.Clone()
		c.Participants = nil
		all = append(all, c)
	}
	m.mu.Unlock()
	for _, rec := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// live returns the stored record of a session id, or removes it and reports
// its expiry. m.mu is held.
func (m *Memory) live(id string) (*Session, error) {
	hash := HashKey(id)
	rec, ok := m.sessions[hash]
	if !ok {
		return nil, ErrNotFound
	}
	if err := rec.Expired(m.now()); err != nil {
		rec = m.remove(hash)
		rec.ID = id
		err.(*ExpiredError).Session = rec
		return nil, err
	}
	return rec, nil
}

// scan returns copies of the live sessions under one index entry, removing
// the expired ones, and every one when del is set. It locks m.mu.
func (m *Memory) scan(index map[string]map[string]struct{}, key string, del bool) []*Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out []*Session
	for hash := range index[key] {
		rec, ok := m.sessions[hash]
		switch {
		case !ok:
			delete(index[key], hash)
		case rec.Expired(now) != nil:
			m.remove(hash)
		case del:
			out = append(out, m.remove(hash))
		default:
			out = append(out, rec.Clone())
		}
	}
	if len(index[key]) == 0 {
		delete(index, key)
	}
	SortSessions(out)
	return out
}

// remove deletes a session and its index entries and returns it, or nil when
// absent. m.mu is held.
func (m *Memory) remove(hash string) *Session {
	rec, ok := m.sessions[hash]
	if !ok {
		return nil
	}
	delete(m.sessions, hash)
	dropIndex(m.byCF, HashKey(rec.FiscalCode), hash)
	dropIndex(m.byCard, rec.CardFingerprint, hash)
	return rec
}

func addIndex(index map[string]map[string]struct{}, key, hash string) {
	set := index[key]
	if set == nil {
		set = map[string]struct{}{}
		index[key] = set
	}
	set[hash] = struct{}{}
}

func dropIndex(index map[string]map[string]struct{}, key, hash string) {
	if set := index[key]; set != nil {
		delete(set, hash)
		if len(set) == 0 {
			delete(index, key)
		}
	}
}

func (m *Memory) sweepEvery(interval time.Duration) {
	defer close(m.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		}
	}
}

// sweep removes every expired session and ephemeral value.
func (m *Memory) sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for hash, rec := range m.sessions {
		if rec.Expired(now) != nil {
			m.remove(hash)
		}
	}
	for k, e := range m.eph {
		if !now.Before(e.deadline) {
			m.dropEph(k)
		}
	}
}
