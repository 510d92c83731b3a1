package revocation

import (
	"context"
	"sync"
)

// flight collapses concurrent calls with the same key into one: the first
// caller starts fn in a goroutine of its own, later callers wait for the
// same result. fn gets no caller's context (one login giving up must not
// fail the others): it is bounded by its own timeout and by the checker's
// lifetime. A waiter whose context ends stops waiting; fn goes on.
type flight[T any] struct {
	mu    sync.Mutex
	calls map[string]*flightCall[T]
	// spawn runs fn in a goroutine the checker's Close waits for; false
	// once closed, and fn then runs in the caller's goroutine.
	spawn func(fn func()) bool
}

type flightCall[T any] struct {
	done chan struct{}
	val  T
}

// do returns fn's value, and whether this caller shared another's call; err
// is the caller's ctx.Err() when it stopped waiting.
func (f *flight[T]) do(ctx context.Context, key string, fn func() T) (val T, shared bool, err error) {
	f.mu.Lock()
	c, shared := f.calls[key]
	if !shared {
		if f.calls == nil {
			f.calls = map[string]*flightCall[T]{}
		}
		c = &flightCall[T]{done: make(chan struct{})}
		f.calls[key] = c
	}
	f.mu.Unlock()
	if !shared {
		run := func() {
			c.val = fn()
			f.mu.Lock()
			delete(f.calls, key)
			f.mu.Unlock()
			close(c.done)
		}
		if !f.spawn(run) {
			run()
		}
	}
	select {
	case <-c.done:
		return c.val, shared, nil
	case <-ctx.Done():
		return val, shared, ctx.Err()
	}
}
