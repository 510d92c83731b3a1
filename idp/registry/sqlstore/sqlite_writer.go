package sqlstore

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// sqliteWriter is the group commit's SQLite writer: its statements, from
// BEGIN IMMEDIATE to COMMIT, compiled once on a connection of its own
// (sqlite_raw.go) and stepped and reset at each batch, where
// modernc.org/sqlite through database/sql would parse each of them again.
// It is used by the group commit's goroutine alone.
//
// It is a second writer connection to the file beside database/sql's,
// which keeps the other writes (registrations, operators, retention,
// migrations): SQLite's write lock serialises the two as it does two
// processes, each waiting for the other up to its busy timeout (the write
// timeout), and both take the lock when their transaction begins
// (IMMEDIATE), so neither can fail on upgrading a read. A transaction of
// the other that moves the audit chain's head is seen by the conditional
// UPDATE of the next batch, which then reads the head.
type sqliteWriter struct {
	*rawConn
	stBegin, stCommit, stRollback uintptr
	stMove, stRead, stSet         uintptr
	stInsert, stLogin             uintptr

	buf  uintptr // C memory the texts bound to a statement are copied to
	size int     // of buf
	at   []byte  // a time formatted, reused
}

// openSQLiteWriter opens the compiled writer of the database of dsn, with
// the pragmas of database/sql's writer (busy timeout busy, WAL,
// synchronous=NORMAL, foreign keys); nil, nil for a memory database or a
// VFS of the DSN's own.
func openSQLiteWriter(dsn string, busy time.Duration) (w *sqliteWriter, err error) {
	name, pragmas, ok, err := rawSQLiteTarget(dsn, sqliteDSN(dsn, busy))
	if err != nil || !ok {
		return nil, err
	}
	c, err := openRawConn("writer", name, pragmas)
	if err != nil {
		return nil, err
	}
	w = &sqliteWriter{rawConn: c}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	for _, s := range []struct {
		st    *uintptr
		query string
	}{
		{&w.stBegin, "BEGIN IMMEDIATE"}, {&w.stCommit, "COMMIT"}, {&w.stRollback, "ROLLBACK"},
		{&w.stMove, chainHeadMove}, {&w.stRead, chainHeadRead}, {&w.stSet, chainHeadSet},
		{&w.stInsert, auditInsertChained}, {&w.stLogin, lastLoginUpdate},
	} {
		if *s.st, err = w.prepare(s.query); err != nil {
			return nil, fmt.Errorf("registry: sqlite writer: prepare %q: %w", s.query, err)
		}
	}
	if err := w.reserve(1024); err != nil {
		return nil, err
	}
	return w, nil
}

// close frees the text buffer while the connection's TLS is still open
// (every statement was reset and cleared after its batch, so none refers
// to it), then finalizes the statements and closes the connection.
func (w *sqliteWriter) close() {
	if w.buf != 0 {
		libc.Xfree(w.tls, w.buf)
		w.buf = 0
	}
	w.rawConn.close(w.stBegin, w.stCommit, w.stRollback, w.stMove, w.stRead, w.stSet, w.stInsert, w.stLogin)
}

// sqlArg is a statement's parameter: a text or an integer.
type sqlArg struct {
	text  string
	n     int64
	isInt bool
}

func textArg(s string) sqlArg { return sqlArg{text: s} }
func intArg(n int64) sqlArg   { return sqlArg{n: n, isInt: true} }

// errOutOfMemory is C memory refused for a statement's texts.
var errOutOfMemory = errors.New("registry: sqlite writer: out of memory")

// reserve makes buf hold n bytes at least.
func (w *sqliteWriter) reserve(n int) error {
	if n <= w.size {
		return nil
	}
	n = max(n, 2*w.size)
	p := libc.Xrealloc(w.tls, w.buf, libc.Tsize_t(n))
	if p == 0 {
		return errOutOfMemory
	}
	w.buf, w.size = p, n
	return nil
}

// exec binds args to stmt, steps it to its end and resets it; it returns
// the rows the statement changed.
func (w *sqliteWriter) exec(stmt uintptr, args ...sqlArg) (int64, error) {
	defer w.reset(stmt)
	rc, err := w.step(stmt, args...)
	if err != nil {
		return 0, err
	}
	if rc == sqlite3.SQLITE_ROW {
		return 0, fmt.Errorf("registry: sqlite writer: a statement without results returned a row")
	}
	return sqlite3.Xsqlite3_changes64(w.tls, w.db), nil
}

// step binds args to stmt and steps it once: SQLITE_ROW or SQLITE_DONE.
// The caller resets stmt, which ends its use of the texts bound.
func (w *sqliteWriter) step(stmt uintptr, args ...sqlArg) (int32, error) {
	total := 0
	for _, a := range args {
		total += len(a.text)
	}
	if err := w.reserve(total); err != nil {
		return 0, err
	}
	// buf is C memory (modernc.org/libc's allocator, not Go's heap): the
	// texts are copied there and bound SQLITE_STATIC (0), which holds
	// until the reset, before buf is written again.
	mem := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&w.buf))), w.size)
	off := 0
	for i, a := range args {
		var rc int32
		if a.isInt {
			rc = sqlite3.Xsqlite3_bind_int64(w.tls, stmt, int32(i+1), a.n)
		} else {
			copy(mem[off:], a.text)
			rc = sqlite3.Xsqlite3_bind_text(w.tls, stmt, int32(i+1), w.buf+uintptr(off), int32(len(a.text)), 0)
			off += len(a.text)
		}
		if rc != sqlite3.SQLITE_OK {
			return 0, w.err(rc)
		}
	}
	switch rc := sqlite3.Xsqlite3_step(w.tls, stmt); rc {
	case sqlite3.SQLITE_ROW, sqlite3.SQLITE_DONE:
		return rc, nil
	default:
		return 0, w.err(rc)
	}
}

func (w *sqliteWriter) reset(stmt uintptr) {
	sqlite3.Xsqlite3_reset(w.tls, stmt)
	sqlite3.Xsqlite3_clear_bindings(w.tls, stmt)
}

// begin opens the batch's IMMEDIATE transaction, waiting for the write
// lock up to the busy timeout.
func (w *sqliteWriter) begin() error {
	_, err := w.exec(w.stBegin)
	return err
}

func (w *sqliteWriter) commit() error {
	_, err := w.exec(w.stCommit)
	return err
}

// rollback ends the transaction still open, if any.
func (w *sqliteWriter) rollback() {
	if sqlite3.Xsqlite3_get_autocommit(w.tls, w.db) == 0 {
		_, _ = w.exec(w.stRollback)
	}
}

func (w *sqliteWriter) moveHead(seq int64, hash string, fromSeq int64, fromHash string) (bool, error) {
	n, err := w.exec(w.stMove, intArg(seq), textArg(hash), intArg(fromSeq), textArg(fromHash))
	return n == 1, err
}

func (w *sqliteWriter) readHead() (seq int64, hash string, err error) {
	defer w.reset(w.stRead)
	rc, err := w.step(w.stRead)
	if err != nil {
		return 0, "", err
	}
	if rc != sqlite3.SQLITE_ROW {
		return 0, "", fmt.Errorf("registry: sqlite writer: no audit chain head")
	}
	seq = sqlite3.Xsqlite3_column_int64(w.tls, w.stRead, 0)
	if t := sqlite3.Xsqlite3_column_text(w.tls, w.stRead, 1); t != 0 {
		hash = string(libc.GoBytes(t, int(sqlite3.Xsqlite3_column_bytes(w.tls, w.stRead, 1))))
	}
	return seq, hash, nil
}

func (w *sqliteWriter) setHead(seq int64, hash string) error {
	_, err := w.exec(w.stSet, intArg(seq), textArg(hash))
	return err
}

// insert inserts e at l, with the values auditArgs gives database/sql.
func (w *sqliteWriter) insert(e *registry.Event, l link) error {
	_, err := w.exec(w.stInsert, textArg(w.time(e.At)), textArg(string(e.Kind)), textArg(string(e.Outcome)), textArg(e.Reason),
		textArg(x509cns.NormalizeFiscalCode(e.FiscalCode)), textArg(e.Client), textArg(e.SessionHash), textArg(e.CardSerial),
		textArg(e.Issuer), textArg(e.RemoteIP), textArg(e.RequestID), textArg(bytesText(e.Detail)),
		intArg(l.seq), textArg(l.prev), textArg(l.hash))
	return err
}

func (w *sqliteWriter) lastLogin(at time.Time, fingerprint string) (int64, error) {
	return w.exec(w.stLogin, textArg(w.time(at)), textArg(fingerprint))
}

// time is t as SQLite stores it (DB.ts), in w's buffer: valid until the
// next call.
func (w *sqliteWriter) time(t time.Time) string {
	w.at = t.UTC().Truncate(time.Microsecond).AppendFormat(w.at[:0], sqliteTime)
	return bytesText(w.at)
}

// bytesText is b as a string without a copy, for a text bound, which
// copies it before b changes.
func bytesText(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
