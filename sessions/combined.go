package sessions

import (
	"context"
	"errors"
	"time"
)

// OpKind names an ephemeral operation of RunWithSession.
type OpKind uint8

// The operations RunWithSession runs, each as the Ephemeral method of the
// same name would.
const (
	OpGet    OpKind = iota + 1 // Result.Val: the value, nil when Get would report ErrNotFound
	OpPutNew                   // Result.Stored: whether PutNew stored Val
	OpDelete                   // no result
	OpSwap                     // Result.Val and Found: the value Swap replaced with Val
)

// Op is one ephemeral operation of RunWithSession.
type Op struct {
	Kind    OpKind
	NS, Key string
	Val     []byte        // OpPutNew and OpSwap
	TTL     time.Duration // OpPutNew and OpSwap
}

// Result is the outcome of one Op.
type Result struct {
	Val    []byte // OpGet, OpSwap
	Found  bool   // OpGet, OpSwap: Val was there
	Stored bool   // OpPutNew
}

// Read is what RunWithSession did: the session read by its hash, or the
// error Store.GetByHash would have returned (ErrNotFound, *ExpiredError, a
// backend error), and the result of each Op, in order.
type Read struct {
	Session *Session
	Err     error
	Results []Result
}

// Combiner is implemented by an Ephemeral whose backend also holds the
// sessions of a Store (Redis: the same client), so that work on both costs
// one round trip. Each method reports handled false, having done nothing,
// when st is not the store it shares its backend with; callers use the
// helpers of the same name, which then fall back to one call after
// another.
type Combiner interface {
	// RunWithSession runs ops in order, each as the Ephemeral method of its
	// kind would, and then reads the session whose id hashes to idHash as
	// st.GetByHash would (none when idHash is ""). The whole is not atomic;
	// each operation is, as its method is.
	RunWithSession(ctx context.Context, st Store, idHash string, ops ...Op) (r Read, handled bool, err error)
	// AddParticipantAndPut records p in the session id as st.AddParticipant
	// would and, only when the session was live, puts entries as Put would.
	AddParticipantAndPut(ctx context.Context, st Store, id string, p Participant, entries ...Entry) (handled bool, err error)
}

// RunWithSession runs ops on e and reads the session idHash from st: in one
// round trip when e is a Combiner of st, one call after another otherwise.
// The error is that of an op (a bad namespace, the backend); the session's
// own error is in Read.Err.
func RunWithSession(ctx context.Context, st Store, e Ephemeral, idHash string, ops ...Op) (Read, error) {
	if c, ok := e.(Combiner); ok {
		if r, handled, err := c.RunWithSession(ctx, st, idHash, ops...); handled {
			return r, err
		}
	}
	res := make([]Result, len(ops))
	for i, op := range ops {
		var err error
		switch op.Kind {
		case OpGet:
			res[i].Val, err = e.Get(ctx, op.NS, op.Key)
			res[i].Found = err == nil
			if errors.Is(err, ErrNotFound) {
				err = nil
			}
		case OpSwap:
			res[i].Val, res[i].Found, err = e.Swap(ctx, op.NS, op.Key, op.Val, op.TTL)
		case OpPutNew:
			res[i].Stored, err = e.PutNew(ctx, op.NS, op.Key, op.Val, op.TTL)
		case OpDelete:
			err = e.Delete(ctx, op.NS, op.Key)
		default:
			err = errors.New("sessions: unknown operation")
		}
		if err != nil {
			return Read{}, err
		}
	}
	r := Read{Results: res}
	if idHash != "" {
		r.Session, r.Err = st.GetByHash(ctx, idHash)
	}
	return r, nil
}

// AddParticipantAndPut records p in the session id of st and, when that
// succeeded, puts entries into e: in one round trip when e is a Combiner
// of st, two otherwise. Its errors are AddParticipant's, then Put's.
func AddParticipantAndPut(ctx context.Context, st Store, e Ephemeral, id string, p Participant, entries ...Entry) error {
	if c, ok := e.(Combiner); ok {
		if handled, err := c.AddParticipantAndPut(ctx, st, id, p, entries...); handled {
			return err
		}
	}
	if err := st.AddParticipant(ctx, id, p); err != nil {
		return err
	}
	return PutMany(ctx, e, entries...)
}
