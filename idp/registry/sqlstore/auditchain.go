package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// The audit chain: every event written gets the next position (seq), the
// hash of the event at the position before it (prev_hash) and its own hash
// over prev_hash and its canonical content. Positions are handed out by
// the chain's head (the one row of audit_chain), which each writer moves in
// the transaction that inserts the events: an operator change and retention
// lock it (chainHead), the group commit's writer on PostgreSQL moves it in
// its one statement only from where it last saw it (groupcommit_pg.go),
// SQLite's group commit likewise with a conditional UPDATE that reads the
// head only when it moved (groupcommit.go), and SQLite's writers hold the
// database's write lock. So the chain's order
// is the order of commits, whatever the number of processes sharing the
// database.

// chainDomain separates the audit chain's hashes from any other SHA-256.
const chainDomain = "cnsgate audit chain v1\n"

// chainTime is the layout of an event's time in its canonical content.
const chainTime = "2006-01-02T15:04:05.000000Z"

// link is an event's place in the chain.
type link struct {
	seq        int64
	prev, hash string
}

// chainFields are the canonical content of an event, in a fixed order; the
// fiscal code normalised and the time in UTC to the microsecond, as stored.
func chainFields(e *registry.Event) []string {
	return []string{e.At.UTC().Truncate(time.Microsecond).Format(chainTime), string(e.Kind), string(e.Outcome), e.Reason,
		x509cns.NormalizeFiscalCode(e.FiscalCode), e.Client, e.SessionHash, e.CardSerial, e.Issuer, e.RemoteIP,
		e.RequestID, string(e.Detail)}
}

// chainHash is the hash of the event at seq after prev: SHA-256 over the
// domain, prev, seq and each field length-prefixed, so that no two
// different events share an encoding.
func chainHash(seq int64, prev string, fields []string) string {
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write([]byte(chainDomain))
	put(prev)
	binary.BigEndian.PutUint64(n[:], uint64(seq))
	h.Write(n[:])
	for _, f := range fields {
		put(f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// chainHead reads the head of the chain in tx, locking it on PostgreSQL
// (SQLite's writer transactions are IMMEDIATE: they hold the write lock).
func (d *DB) chainHead(ctx context.Context, tx *sql.Tx) (seq int64, hash string, err error) {
	q := chainHeadRead
	if d.dialect == DriverPostgres {
		q += " FOR UPDATE"
	}
	if err := tx.QueryRowContext(ctx, q).Scan(&seq, &hash); err != nil {
		return 0, "", fmt.Errorf("audit chain head: %w", err)
	}
	return seq, hash, nil
}

// chainEvents links events after the head in tx and moves the head past
// them; the caller inserts them with their links in the same transaction.
func (d *DB) chainEvents(ctx context.Context, tx *sql.Tx, events []*registry.Event) ([]link, error) {
	if len(events) == 0 {
		return nil, nil
	}
	seq, prev, err := d.chainHead(ctx, tx)
	if err != nil {
		return nil, err
	}
	links := linkAfter(seq, prev, events)
	seq, prev = links[len(links)-1].seq, links[len(links)-1].hash
	if _, err := tx.ExecContext(ctx, d.q(chainHeadSet), seq, prev); err != nil {
		return nil, fmt.Errorf("audit chain head: %w", err)
	}
	return links, nil
}

// linkAfter links events after the event at seq whose hash is prev.
func linkAfter(seq int64, prev string, events []*registry.Event) []link {
	links := make([]link, len(events))
	for i, e := range events {
		seq++
		h := chainHash(seq, prev, chainFields(e))
		links[i] = link{seq: seq, prev: prev, hash: h}
		prev = h
	}
	return links
}

// auditInsertChained inserts one event with its link.
const auditInsertChained = "INSERT INTO audit_events (at, kind, outcome, reason, fiscal_code, client, session_hash, card_serial, issuer, remote_ip, request_id, detail, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// insertChained links e and inserts it in tx (an operator change).
func (d *DB) insertChained(ctx context.Context, tx *sql.Tx, e *registry.Event) error {
	links, err := d.chainEvents(ctx, tx, []*registry.Event{e})
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, d.q(auditInsertChained), d.chainedArgs(e, links[0])...)
	return err
}

// chainedArgs are the values of auditInsertChained for e at l.
func (d *DB) chainedArgs(e *registry.Event, l link) []any {
	return append(d.auditArgs(e), l.seq, l.prev, l.hash)
}
