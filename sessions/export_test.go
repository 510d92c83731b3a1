package sessions

// Entries counts what a Memory holds (sessions, index entries, ephemeral
// values), for tests of its sweep.
func (m *Memory) Entries() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions) + len(m.byCF) + len(m.byCard) + len(m.eph)
}
