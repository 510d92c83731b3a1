package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/cnsgate/cnsgate/sessions"
)

var _ sessions.Combiner = (*Ephemeral)(nil)

// RunWithSession implements sessions.Combiner: the operations and the
// session's HGETALL in one pipeline, one round trip (on a Cluster, one per
// node, sent together). It handles only the Store the Ephemeral belongs
// to.
func (e *Ephemeral) RunWithSession(ctx context.Context, st sessions.Store, idHash string, ops ...sessions.Op) (sessions.Read, bool, error) {
	if own, _ := st.(*Store); own != e.s {
		return sessions.Read{}, false, nil
	}
	for _, op := range ops {
		if err := e.checkOp(op); err != nil {
			return sessions.Read{}, true, err
		}
	}
	cmds, session, err := e.runOps(ctx, idHash, ops)
	if err != nil {
		return sessions.Read{}, true, err
	}
	r := sessions.Read{Results: make([]sessions.Result, len(ops))}
	for i, op := range ops {
		if r.Results[i], err = e.decodeResult(op.Kind, cmds[i]); err != nil {
			return sessions.Read{}, true, err
		}
	}
	switch {
	case idHash == "":
	case session == nil:
		r.Err = sessions.ErrNotFound // not a HashKey: names no session
	case session.Err() != nil:
		r.Err = wrap(session.Err())
	default:
		r.Session, r.Err = e.s.byHash(ctx, idHash, session.Val())
	}
	return r, true, nil
}

// decodeResult reads the answer of one operation's command.
func (e *Ephemeral) decodeResult(kind sessions.OpKind, cmd redis.Cmder) (sessions.Result, error) {
	var r sessions.Result
	switch kind {
	case sessions.OpGet:
		stored, err := cmd.(*redis.StringCmd).Bytes()
		v, err := e.result(stored, err)
		if err != nil && !errors.Is(err, sessions.ErrNotFound) {
			return r, err
		}
		r.Val, r.Found = v, err == nil
	case sessions.OpSwap:
		stored, err := cmd.(*redis.StatusCmd).Bytes()
		v, found, err := e.swapped(stored, err)
		if err != nil {
			return r, err
		}
		r.Val, r.Found = v, found
	case sessions.OpPutNew:
		n, err := cmd.(*redis.Cmd).Int()
		if err != nil {
			return r, wrap(err)
		}
		r.Stored = n == 1
	case sessions.OpDelete:
		return r, wrap(cmd.Err())
	}
	return r, nil
}

// checkOp refuses an operation as its Ephemeral method would.
func (e *Ephemeral) checkOp(op sessions.Op) error {
	switch op.Kind {
	case sessions.OpGet, sessions.OpDelete:
		return sessions.CheckNamespace(op.NS)
	case sessions.OpPutNew, sessions.OpSwap:
		return e.check(op.NS, op.Val, op.TTL)
	}
	return fmt.Errorf("sessions: redis: unknown operation %d", op.Kind)
}

// runOps sends the operations and the session read as one pipeline. On a
// server that lost the putNew script (restart, SCRIPT FLUSH, failover) it
// loads the script and sends the refused EVALSHAs once more, alone: a
// refused EVALSHA ran nothing, and every other command ran once.
func (e *Ephemeral) runOps(ctx context.Context, idHash string, ops []sessions.Op) ([]redis.Cmder, *redis.MapStringStringCmd, error) {
	pipe := e.s.c.Pipeline()
	cmds := make([]redis.Cmder, len(ops))
	for i, op := range ops {
		cmds[i] = e.queue(ctx, pipe, op)
	}
	var session *redis.MapStringStringCmd
	if validHash(idHash) {
		session = pipe.HGetAll(ctx, e.s.sessionKey(idHash))
	}
	_, err := pipe.Exec(ctx)
	if err == nil || errors.Is(err, redis.Nil) {
		return cmds, session, nil
	}
	refused := noScript(cmds)
	if len(refused) == 0 || (session != nil && session.Err() != nil) {
		return nil, nil, wrap(err)
	}
	if err := putNew.Load(ctx, e.s.c).Err(); err != nil {
		return nil, nil, wrap(err)
	}
	pipe = e.s.c.Pipeline()
	for _, i := range refused {
		cmds[i] = e.queue(ctx, pipe, ops[i])
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, wrap(err)
	}
	return cmds, session, nil
}

// queue adds the command of op to pipe.
func (e *Ephemeral) queue(ctx context.Context, pipe redis.Pipeliner, op sessions.Op) redis.Cmder {
	key := e.key(op.NS, op.Key)
	switch op.Kind {
	case sessions.OpGet:
		return pipe.Get(ctx, key)
	case sessions.OpPutNew:
		v, keyTTL := e.value(op.Val, op.TTL)
		return putNew.EvalSha(ctx, pipe, []string{key}, e.s.now().UnixMilli(), v, ms(keyTTL))
	case sessions.OpSwap:
		v, keyTTL := e.value(op.Val, op.TTL)
		return pipe.SetArgs(ctx, key, v, redis.SetArgs{TTL: keyTTL, Get: true})
	default: // OpDelete; checkOp refused any other
		return pipe.Del(ctx, key)
	}
}

// noScript returns the index of every command refused because the server
// does not know its script.
func noScript(cmds []redis.Cmder) []int {
	var out []int
	for i, c := range cmds {
		if c.Err() != nil && redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			out = append(out, i)
		}
	}
	return out
}

// AddParticipantAndPut implements sessions.Combiner. On one server
// (standalone or Sentinel) it is one script, atomic: the entries are
// stored only if the participant was recorded in a live session. On a
// Cluster the entries hash to other slots than the session: the
// participant is recorded first, then the entries put, in two round trips.
func (e *Ephemeral) AddParticipantAndPut(ctx context.Context, st sessions.Store, id string, p sessions.Participant, entries ...sessions.Entry) (bool, error) {
	s := e.s
	if own, _ := st.(*Store); own != s {
		return false, nil
	}
	if _, cluster := s.c.(*redis.ClusterClient); cluster {
		if err := s.AddParticipant(ctx, id, p); err != nil {
			return true, err
		}
		return true, e.PutMany(ctx, entries...)
	}
	if err := p.Validate(); err != nil {
		return true, err
	}
	for _, en := range entries {
		if err := e.check(en.NS, en.Val, en.TTL); err != nil {
			return true, err
		}
	}
	now := s.now()
	if p.JoinedAt.IsZero() {
		p.JoinedAt = now
	}
	field, val, err := encodeParticipant(p)
	if err != nil {
		return true, err
	}
	keys := []string{s.sessionKey(sessions.HashKey(id))}
	args := []any{now.UnixMilli(), field, val}
	for _, en := range entries {
		v, keyTTL := e.value(en.Val, en.TTL)
		keys = append(keys, e.key(en.NS, en.Key))
		args = append(args, v, ms(keyTTL))
	}
	code, err := addParticipant.Run(ctx, s.c, keys, args...).Int()
	if err != nil {
		return true, wrap(err)
	}
	return true, s.outcome(ctx, id, code)
}
