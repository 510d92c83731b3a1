package sessions

import (
	"container/list"
	"strings"
)

// nsOrder keeps the values of one capped namespace in the order they were
// stored, so that the oldest is evicted first when the namespace is full.
// Every operation is O(1): a cap costs a list element and a map entry per
// value, nothing per lookup. Memory.mu guards it.
type nsOrder struct {
	max     int
	order   *list.List               // ephKeys, oldest at the front
	at      map[string]*list.Element // ephKey → its element
	evicted uint64
}

// newOrders makes the orders of the namespaces of limits; a limit of zero
// or less leaves its namespace uncapped.
func newOrders(limits map[string]int) map[string]*nsOrder {
	out := map[string]*nsOrder{}
	for ns, n := range limits {
		if n > 0 {
			out[ns] = &nsOrder{max: n, order: list.New(), at: map[string]*list.Element{}}
		}
	}
	return out
}

// stored records that k (an ephKey) was stored under ns, as the newest, and
// evicts the oldest values while the namespace is over its cap. m.mu is held.
func (m *Memory) stored(ns, k string) {
	o := m.capped[ns]
	if o == nil {
		return
	}
	if el, ok := o.at[k]; ok {
		o.order.MoveToBack(el)
		return
	}
	o.at[k] = o.order.PushBack(k)
	for o.order.Len() > o.max {
		oldest := o.order.Remove(o.order.Front()).(string)
		delete(o.at, oldest)
		delete(m.eph, oldest)
		o.evicted++
	}
}

// dropEph removes the value under k and its place in its namespace's
// order. m.mu is held.
func (m *Memory) dropEph(k string) {
	delete(m.eph, k)
	ns, _, _ := strings.Cut(k, "\x00")
	if o := m.capped[ns]; o != nil {
		if el, ok := o.at[k]; ok {
			o.order.Remove(el)
			delete(o.at, k)
		}
	}
}

// Len returns how many values the namespace ns holds, counting those
// expired but not yet swept.
func (e *MemoryEphemeral) Len(ns string) int {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.capped[ns]; o != nil {
		return o.order.Len()
	}
	prefix := ns + "\x00"
	n := 0
	for k := range m.eph {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// Evicted returns how many values of the capped namespace ns were evicted
// to keep it under its cap; 0 for a namespace without a cap.
func (e *MemoryEphemeral) Evicted(ns string) uint64 {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.capped[ns]; o != nil {
		return o.evicted
	}
	return 0
}
