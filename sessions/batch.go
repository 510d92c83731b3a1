package sessions

import (
	"context"
	"errors"
	"time"
)

// Ref names one ephemeral value.
type Ref struct{ NS, Key string }

// Entry is one ephemeral value to put, with its TTL.
type Entry struct {
	NS, Key string
	Val     []byte
	TTL     time.Duration
}

// Batcher is implemented by Ephemeral backends that can read or write
// several values in one round trip (Redis: one pipeline). Each value is
// read or written as Get or Put would, but the batch as a whole is not
// atomic.
type Batcher interface {
	// GetMany returns the value of each ref, in order; a value that Get
	// would report as ErrNotFound is nil.
	GetMany(ctx context.Context, refs ...Ref) ([][]byte, error)
	// PutMany puts every entry, as Put would.
	PutMany(ctx context.Context, entries ...Entry) error
}

// GetMany reads refs from e: in one round trip when e is a Batcher, one
// value after another otherwise. A value not found is nil.
func GetMany(ctx context.Context, e Ephemeral, refs ...Ref) ([][]byte, error) {
	if b, ok := e.(Batcher); ok {
		return b.GetMany(ctx, refs...)
	}
	out := make([][]byte, len(refs))
	for i, r := range refs {
		v, err := e.Get(ctx, r.NS, r.Key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, err
		default:
			out[i] = v
		}
	}
	return out, nil
}

// PutMany puts entries into e: in one round trip when e is a Batcher, one
// after another otherwise.
func PutMany(ctx context.Context, e Ephemeral, entries ...Entry) error {
	if b, ok := e.(Batcher); ok {
		return b.PutMany(ctx, entries...)
	}
	for _, en := range entries {
		if err := e.Put(ctx, en.NS, en.Key, en.Val, en.TTL); err != nil {
			return err
		}
	}
	return nil
}
