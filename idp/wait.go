package idp

import "sync"

// Done returns a channel closed once wg's count is zero, so that a wait on
// background work can be bounded by a context in a select.
func Done(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}
