package sqlstore

import (
	"fmt"
	"net/url"
	"strings"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// modernc.org/sqlite parses and plans a statement again at every execution,
// prepared or not, through database/sql. The login lookup
// (lookup_sqlite.go) and the group commit's writer (groupcommit_sqlite.go)
// keep theirs compiled instead, on SQLite connections of their own opened
// here through modernc.org/sqlite/lib, with the pragmas of the DSN their
// database/sql twin uses. SQLite's file locks serialise them with every
// other connection to the file, in this process or another.

// rawConn is one SQLite connection opened without database/sql. Its TLS is
// used by one goroutine at a time.
type rawConn struct {
	tls *libc.TLS
	db  uintptr
}

// rawSQLiteTarget is the file name and the pragmas of full, the DSN
// database/sql opens for dsn (sqliteDSN or sqliteReaderDSN of it); ok is
// false when dsn names a VFS of its own or a memory database, which only
// the database/sql driver's connection reaches.
func rawSQLiteTarget(dsn, full string) (name string, pragmas []string, ok bool, err error) {
	name, params, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(params)
	if err != nil {
		return "", nil, false, fmt.Errorf("registry: sqlite dsn: %w", err)
	}
	if q.Has("vfs") || inMemorySQLite(dsn) {
		return "", nil, false, nil
	}
	if strings.HasPrefix(dsn, "file:") {
		name = dsn
	}
	_, fullParams, _ := strings.Cut(full, "?")
	fq, _ := url.ParseQuery(fullParams)
	return name, fq["_pragma"], true, nil
}

// openRawConn opens the database file name (a path or a "file:" URI) and
// runs each pragma on it; what names the connection in errors.
func openRawConn(what, name string, pragmas []string) (c *rawConn, err error) {
	c = &rawConn{tls: libc.NewTLS()}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	cname, err := libc.CString(name)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, cname)
	pdb := libc.Xmalloc(c.tls, 8)
	defer libc.Xfree(c.tls, pdb)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, cname, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = libc.AtomicLoadPUintptr(pdb)
	if rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("registry: open sqlite %s: %w", what, c.err(rc))
	}
	for _, p := range pragmas {
		if err := c.exec("PRAGMA " + p); err != nil {
			return nil, fmt.Errorf("registry: sqlite %s: pragma %s: %w", what, p, err)
		}
	}
	return c, nil
}

// prepare compiles query on c once, for the life of the connection.
func (c *rawConn) prepare(query string) (uintptr, error) {
	cq, err := libc.CString(query)
	if err != nil {
		return 0, err
	}
	defer libc.Xfree(c.tls, cq)
	pstmt := libc.Xmalloc(c.tls, 8)
	defer libc.Xfree(c.tls, pstmt)
	if rc := sqlite3.Xsqlite3_prepare_v3(c.tls, c.db, cq, -1, sqlite3.SQLITE_PREPARE_PERSISTENT, pstmt, 0); rc != sqlite3.SQLITE_OK {
		return 0, c.err(rc)
	}
	return libc.AtomicLoadPUintptr(pstmt), nil
}

// exec runs a statement without results (a pragma) on c.
func (c *rawConn) exec(query string) error {
	cq, err := libc.CString(query)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, cq)
	if rc := sqlite3.Xsqlite3_exec(c.tls, c.db, cq, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return c.err(rc)
	}
	return nil
}

// err is SQLite's message for rc on c.
func (c *rawConn) err(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if m := libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)); m != msg {
			msg += ": " + m
		}
	}
	return fmt.Errorf("sqlite: %s (%d)", msg, rc)
}

// close finalizes stmts, then closes c.
func (c *rawConn) close(stmts ...uintptr) {
	for _, s := range stmts {
		if s != 0 {
			sqlite3.Xsqlite3_finalize(c.tls, s)
		}
	}
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
	}
	c.tls.Close()
}
