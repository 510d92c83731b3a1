package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// A SQLite batch runs in one IMMEDIATE transaction, on the group commit's
// writer compiled once on a connection of its own (sqlite_writer.go), or,
// for a memory database or a VFS of the DSN's own, which only the
// database/sql driver's connection reaches, on database/sql's single
// writer connection with its statements prepared (sqlTxBatch).

const (
	lastLoginUpdate = "UPDATE registrations SET last_login_at = ? WHERE fingerprint = ? AND status = 'active'"
	// chainHeadMove moves the head from where the writer last committed it.
	chainHeadMove = "UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1 AND seq = ? AND hash = ?"
	chainHeadRead = "SELECT seq, hash FROM audit_chain WHERE id = 1"
	chainHeadSet  = "UPDATE audit_chain SET seq = ?, hash = ? WHERE id = 1"
)

// sqliteTx is what a SQLite batch runs in its transaction.
type sqliteTx interface {
	// moveHead moves the chain's head to seq and hash if it is at
	// fromSeq and fromHash, and reports whether it was.
	moveHead(seq int64, hash string, fromSeq int64, fromHash string) (bool, error)
	readHead() (seq int64, hash string, err error)
	setHead(seq int64, hash string) error
	insert(e *registry.Event, l link) error
	// lastLogin sets the last login of the active registration of
	// fingerprint and returns how many it changed.
	lastLogin(at time.Time, fingerprint string) (int64, error)
	commit() error
	rollback() // after commit, or when none is open, nothing
}

// commitSQLite writes the batch in one IMMEDIATE transaction; its events
// are linked into the audit chain in the order of the batch. Any error
// rolls back and forgets the head.
func (d *DB) commitSQLite(batch []*writeOp) ([]error, error) {
	tx, err := d.beginSQLite()
	if err != nil {
		return nil, err
	}
	defer tx.rollback()
	links, err := d.linkSQLite(tx, batchEvents(batch))
	var results []error
	if err == nil {
		results, err = d.writeSQLite(tx, batch, links)
	}
	if err == nil {
		err = tx.commit()
	}
	if err != nil {
		d.tip.known = false // rolled back: the head is where it was, or unknown
		return nil, err
	}
	if len(links) > 0 {
		last := links[len(links)-1]
		d.tip = chainTip{seq: last.seq, hash: last.hash, known: true}
	}
	return results, nil
}

func (d *DB) beginSQLite() (sqliteTx, error) {
	if d.sw != nil {
		return d.sw, d.sw.begin()
	}
	// No deadline: see groupWriter.run.
	ctx := context.Background()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTxBatch{ctx: ctx, d: d, tx: tx}, nil
}

// linkSQLite links events after the chain's head and moves the head past
// them in tx. From the head the writer committed last, one conditional
// UPDATE does it (the head is read only when that UPDATE finds it moved:
// another process on the same file, an operator change, retention); the
// transaction is IMMEDIATE, holding SQLite's write lock, so the head cannot
// move between that UPDATE and the commit.
func (d *DB) linkSQLite(tx sqliteTx, events []*registry.Event) ([]link, error) {
	if len(events) == 0 {
		return nil, nil
	}
	if d.tip.known {
		links := linkAfter(d.tip.seq, d.tip.hash, events)
		last := links[len(links)-1]
		moved, err := tx.moveHead(last.seq, last.hash, d.tip.seq, d.tip.hash)
		if err != nil {
			return nil, fmt.Errorf("audit chain head: %w", err)
		}
		if moved {
			return links, nil
		}
	}
	seq, prev, err := tx.readHead() // the head moved: read it, link after it
	if err != nil {
		return nil, fmt.Errorf("audit chain head: %w", err)
	}
	links := linkAfter(seq, prev, events)
	last := links[len(links)-1]
	if err := tx.setHead(last.seq, last.hash); err != nil {
		return nil, fmt.Errorf("audit chain head: %w", err)
	}
	return links, nil
}

// writeSQLite inserts the batch's linked events and its last-login
// updates in tx; the result of each operation is nil or
// registry.ErrNotRegistered (a last-login update alone that found no
// registration).
func (d *DB) writeSQLite(tx sqliteTx, batch []*writeOp, links []link) ([]error, error) {
	results := make([]error, len(batch))
	for i, op := range batch {
		if e := op.event; e != nil {
			if err := tx.insert(e, links[0]); err != nil {
				return nil, err
			}
			links = links[1:]
		}
		if op.fingerprint == "" {
			continue
		}
		n, err := tx.lastLogin(op.at, op.fingerprint)
		if err != nil {
			return nil, err
		}
		if n == 0 && op.event == nil {
			results[i] = registry.ErrNotRegistered
		}
	}
	return results, nil
}

// sqlTxBatch is a SQLite batch on database/sql's writer connection.
type sqlTxBatch struct {
	ctx context.Context
	d   *DB
	tx  *sql.Tx
}

func (b *sqlTxBatch) moveHead(seq int64, hash string, fromSeq int64, fromHash string) (bool, error) {
	n, err := b.exec(chainHeadMove, seq, hash, fromSeq, fromHash)
	return n == 1, err
}

func (b *sqlTxBatch) readHead() (seq int64, hash string, err error) {
	err = b.tx.QueryRowContext(b.ctx, chainHeadRead).Scan(&seq, &hash)
	return seq, hash, err
}

func (b *sqlTxBatch) setHead(seq int64, hash string) error {
	_, err := b.exec(chainHeadSet, seq, hash)
	return err
}

func (b *sqlTxBatch) insert(e *registry.Event, l link) error {
	_, err := b.tx.StmtContext(b.ctx, b.d.stmtInsert).ExecContext(b.ctx, b.d.chainedArgs(e, l)...)
	return err
}

func (b *sqlTxBatch) lastLogin(at time.Time, fingerprint string) (int64, error) {
	res, err := b.tx.StmtContext(b.ctx, b.d.stmtLogin).ExecContext(b.ctx, b.d.ts(at), fingerprint)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (b *sqlTxBatch) exec(query string, args ...any) (int64, error) {
	res, err := b.tx.ExecContext(b.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (b *sqlTxBatch) commit() error { return b.tx.Commit() }
func (b *sqlTxBatch) rollback()     { _ = b.tx.Rollback() }

// prepareSQLite prepares the group commit's statements on database/sql's
// writer when it has no compiled writer of its own (a memory database, a
// VFS of the DSN's own). The login lookup is compiled by sqliteLookup
// where it can be; elsewhere it is a plain query, since modernc.org/sqlite
// parses a database/sql prepared statement again at every execution.
func (d *DB) prepareSQLite(ctx context.Context) error {
	var err error
	if d.sw == nil {
		if d.stmtInsert, err = d.db.PrepareContext(ctx, auditInsertChained); err != nil {
			return fmt.Errorf("registry: prepare audit insert: %w", err)
		}
		if d.stmtLogin, err = d.db.PrepareContext(ctx, lastLoginUpdate); err != nil {
			return fmt.Errorf("registry: prepare last-login update: %w", err)
		}
	}
	return nil
}
