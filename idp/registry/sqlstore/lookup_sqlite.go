package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// sqliteLookup keeps the login's lookup compiled (sqlite_raw.go), on
// SQLite connections of its own beside the reader pool, opened with the
// readers' settings (query only, the same busy timeout): modernc.org/sqlite
// would parse it again at every login, two thirds of its cost. Each
// execution steps the statement afresh and resets it, so it reads the
// latest committed state of the file, whoever wrote it: nothing is cached
// but the compiled query. A schema changed by another process makes SQLite
// compile it again.
type sqliteLookup struct {
	conns  chan *lookupConn
	all    []*lookupConn
	closed sync.Once
}

// lookupConn is one connection and its compiled statement. Its TLS is
// used by one goroutine at a time: the one holding the connection.
type lookupConn struct {
	*rawConn
	stmt       uintptr
	interrupts *libc.TLS // for sqlite3_interrupt, from a context's goroutine

	mu      sync.Mutex // guards running and gen against a late interrupt
	running bool
	gen     uint64
}

// openSQLiteLookup opens n connections to the database of dsn, each with
// query compiled; nil, nil when dsn names a VFS of its own, which the
// reader pool's driver handles.
func openSQLiteLookup(dsn, query string, n int) (*sqliteLookup, error) {
	name, pragmas, ok, err := rawSQLiteTarget(dsn, sqliteReaderDSN(dsn))
	if err != nil || !ok {
		return nil, err
	}
	l := &sqliteLookup{conns: make(chan *lookupConn, n)}
	for range n {
		c, err := openLookupConn(name, query, pragmas)
		if err != nil {
			l.close()
			return nil, err
		}
		l.all = append(l.all, c)
		l.conns <- c
	}
	return l, nil
}

func openLookupConn(name, query string, pragmas []string) (*lookupConn, error) {
	rc, err := openRawConn("lookup", name, pragmas)
	if err != nil {
		return nil, err
	}
	c := &lookupConn{rawConn: rc, interrupts: libc.NewTLS()}
	if c.stmt, err = c.prepare(query); err != nil {
		c.close()
		return nil, fmt.Errorf("registry: prepare login lookup: %w", err)
	}
	return c, nil
}

func (c *lookupConn) close() {
	c.rawConn.close(c.stmt)
	c.interrupts.Close()
}

// close waits for the queries running, then closes every connection;
// queries after it fail with errLookupClosed. A second close does nothing.
func (l *sqliteLookup) close() {
	l.closed.Do(func() {
		for range l.all {
			<-l.conns
		}
		close(l.conns)
		for _, c := range l.all {
			c.close()
		}
	})
}

// errLookupClosed is a lookup after Close.
var errLookupClosed = errors.New("registry: closed")

// queryRow runs the statement with text argument arg and returns its first
// row, or a row whose Scan returns sql.ErrNoRows. ctx bounds the wait for
// a connection and the query itself, which it interrupts.
func (l *sqliteLookup) queryRow(ctx context.Context, arg string) *lookupRow {
	if err := ctx.Err(); err != nil {
		return &lookupRow{err: err}
	}
	var c *lookupConn
	select {
	case cc, ok := <-l.conns:
		if !ok {
			return &lookupRow{err: errLookupClosed}
		}
		c = cc
	case <-ctx.Done():
		return &lookupRow{err: ctx.Err()}
	}
	defer func() { l.conns <- c }()
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.running = true
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		if c.running && c.gen == gen {
			sqlite3.Xsqlite3_interrupt(c.interrupts, c.db)
		}
		c.mu.Unlock()
	})
	row := c.step(arg)
	stop()
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	if row.err != nil && ctx.Err() != nil {
		row.err = ctx.Err()
	}
	return row
}

// step binds arg, reads the first row and resets the statement, so that
// it holds no read transaction between logins.
func (c *lookupConn) step(arg string) *lookupRow {
	p, err := libc.CString(arg)
	if err != nil {
		return &lookupRow{err: err}
	}
	defer libc.Xfree(c.tls, p)
	defer func() {
		sqlite3.Xsqlite3_reset(c.tls, c.stmt)
		sqlite3.Xsqlite3_clear_bindings(c.tls, c.stmt)
	}()
	// SQLITE_STATIC (0): p outlives the statement's use of it, which
	// ends with the reset and clear above, before p is freed.
	if rc := sqlite3.Xsqlite3_bind_text(c.tls, c.stmt, 1, p, int32(len(arg)), 0); rc != sqlite3.SQLITE_OK {
		return &lookupRow{err: c.err(rc)}
	}
	switch rc := sqlite3.Xsqlite3_step(c.tls, c.stmt); rc {
	case sqlite3.SQLITE_DONE:
		return &lookupRow{err: sql.ErrNoRows}
	case sqlite3.SQLITE_ROW:
	default:
		return &lookupRow{err: c.err(rc)}
	}
	n := int(sqlite3.Xsqlite3_column_count(c.tls, c.stmt))
	row := &lookupRow{values: make([]any, n)}
	for i := range n {
		col := int32(i)
		switch sqlite3.Xsqlite3_column_type(c.tls, c.stmt, col) {
		case sqlite3.SQLITE_NULL:
		case sqlite3.SQLITE_INTEGER:
			row.values[i] = sqlite3.Xsqlite3_column_int64(c.tls, c.stmt, col)
		case sqlite3.SQLITE_FLOAT:
			row.values[i] = sqlite3.Xsqlite3_column_double(c.tls, c.stmt, col)
		default: // text; the lookup reads no blobs
			t := sqlite3.Xsqlite3_column_text(c.tls, c.stmt, col)
			b := int(sqlite3.Xsqlite3_column_bytes(c.tls, c.stmt, col))
			if t != 0 && b > 0 {
				row.values[i] = string(libc.GoBytes(t, b))
			} else {
				row.values[i] = ""
			}
		}
	}
	return row
}

// lookupRow is a row read by sqliteLookup, scanned like a *sql.Row into
// the types AuthorizeLogin reads.
type lookupRow struct {
	values []any
	err    error
}

// errLookupType is a column whose value does not fit its destination.
var errLookupType = errors.New("registry: login lookup: column type")

// Scan copies the row's columns into dest: *int64, *string,
// *registry.Status or a sql.Scanner.
func (r *lookupRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if len(dest) != len(r.values) {
		return fmt.Errorf("registry: login lookup: %d columns, %d destinations", len(r.values), len(dest))
	}
	for i, d := range dest {
		v := r.values[i]
		var ok bool
		switch d := d.(type) {
		case sql.Scanner:
			if err := d.Scan(v); err != nil {
				return fmt.Errorf("registry: login lookup: column %d: %w", i, err)
			}
			ok = true
		case *int64:
			*d, ok = v.(int64)
		case *string:
			*d, ok = v.(string)
		case *registry.Status:
			var s string
			s, ok = v.(string)
			*d = registry.Status(s)
		}
		if !ok {
			return fmt.Errorf("%w: column %d is %T for %T", errLookupType, i, v, d)
		}
	}
	return nil
}
