package sessions

import (
	"bytes"
	"context"
	"time"
)

// MemoryEphemeral is the Ephemeral side of a Memory: it shares its clock,
// lock and sweep. Get one with Memory.Ephemeral.
type MemoryEphemeral struct{ m *Memory }

// Ephemeral returns the store's Ephemeral values.
func (m *Memory) Ephemeral() *MemoryEphemeral { return &MemoryEphemeral{m} }

// Put implements Ephemeral.
func (e *MemoryEphemeral) Put(_ context.Context, ns, key string, val []byte, ttl time.Duration) error {
	m := e.m
	if err := checkPut(ns, val, ttl, m.maxValue); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ephKey(ns, key)
	m.eph[k] = ephEntry{val: bytes.Clone(val), deadline: m.now().Add(ttl)}
	m.stored(ns, k)
	return nil
}

// PutNew implements Ephemeral.
func (e *MemoryEphemeral) PutNew(_ context.Context, ns, key string, val []byte, ttl time.Duration) (bool, error) {
	m := e.m
	if err := checkPut(ns, val, ttl, m.maxValue); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ephKey(ns, key)
	if _, ok := m.liveEntry(k); ok {
		return false, nil
	}
	m.eph[k] = ephEntry{val: bytes.Clone(val), deadline: m.now().Add(ttl)}
	m.stored(ns, k)
	return true, nil
}

// Swap implements Ephemeral.
func (e *MemoryEphemeral) Swap(_ context.Context, ns, key string, val []byte, ttl time.Duration) ([]byte, bool, error) {
	m := e.m
	if err := checkPut(ns, val, ttl, m.maxValue); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ephKey(ns, key)
	prev, found := m.liveEntry(k)
	m.eph[k] = ephEntry{val: bytes.Clone(val), deadline: m.now().Add(ttl)}
	m.stored(ns, k)
	if !found {
		return nil, false, nil
	}
	return nonNil(prev.val), true, nil
}

// Get implements Ephemeral.
func (e *MemoryEphemeral) Get(_ context.Context, ns, key string) ([]byte, error) {
	if err := CheckNamespace(ns); err != nil {
		return nil, err
	}
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	ent, ok := m.liveEntry(ephKey(ns, key))
	if !ok {
		return nil, ErrNotFound
	}
	return nonNil(ent.val), nil
}

// Take implements Ephemeral.
func (e *MemoryEphemeral) Take(_ context.Context, ns, key string) ([]byte, error) {
	if err := CheckNamespace(ns); err != nil {
		return nil, err
	}
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	k := ephKey(ns, key)
	ent, ok := m.liveEntry(k)
	if !ok {
		return nil, ErrNotFound
	}
	m.dropEph(k)
	return nonNil(ent.val), nil
}

// Delete implements Ephemeral.
func (e *MemoryEphemeral) Delete(_ context.Context, ns, key string) error {
	if err := CheckNamespace(ns); err != nil {
		return err
	}
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropEph(ephKey(ns, key))
	return nil
}

// liveEntry returns the entry under k unless it has expired, which it then
// removes. m.mu is held.
func (m *Memory) liveEntry(k string) (ephEntry, bool) {
	e, ok := m.eph[k]
	if !ok {
		return ephEntry{}, false
	}
	if !m.now().Before(e.deadline) {
		m.dropEph(k)
		return ephEntry{}, false
	}
	return e, true
}

func checkPut(ns string, val []byte, ttl time.Duration, max int) error {
	if err := CheckNamespace(ns); err != nil {
		return err
	}
	if err := CheckValueSize(val, max); err != nil {
		return err
	}
	return CheckTTL(ttl)
}

func ephKey(ns, key string) string { return ns + "\x00" + HashKey(key) }

// nonNil returns a copy of b that is never nil, so that an empty value reads
// back as present.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return bytes.Clone(b)
}
