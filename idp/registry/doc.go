// Package registry holds the vocabulary of cnsgate's registry: the bindings
// of smart cards to fiscal codes (Registration, Status, ListFilter), the
// operators and their roles (Operator), the eligible citizens of allowlist
// mode (Eligible, ImportResult) and the audit trail (Event, EventKind,
// Outcome, AuditQuery, AuditBucket), with the sentinel errors every store returns
// (ErrNotRegistered, ErrReplaced, ErrRevoked, ErrNotFound, ErrDuplicate).
//
// It owns types only and imports the standard library only, so that idp and
// its protocol packages can speak of registrations without linking a
// database driver. It never touches SQL, certificates or HTTP: the SQL store
// (SQLite and PostgreSQL, migrations, allowlist import) is
// idp/registry/sqlstore, which validates and normalises fiscal codes with
// x509cns; the interfaces a caller needs of a store are defined by that
// caller (idp.Registry, idp.Auditor, metrics.AuditPurger).
//
// # Personal data
//
// Fiscal codes travel in full (investigators search the audit trail by
// them), but every type that carries one implements slog.LogValuer and logs
// it masked, by the rule of x509cns.MaskFiscalCode.
//
// # Files
//
//	doc.go           this map
//	errors.go        sentinel errors
//	registration.go  Registration, Status, ListFilter
//	consent.go       Consent: the citizen's consent (text version, time, channel), kept when withdrawn; the channels
//	operator.go      Operator (roles need an operator card unless AnyCard; organisation; validity)
//	operator_change.go the acts of operator administration, CheckOperator, ErrExists, ErrInvalidOperator
//	allowlist.go     Eligible, ImportResult (allowlist mode)
//	event.go         audit Event, EventKind, Outcome, AuditQuery; AuditDimension, AuditBucket (aggregates per day)
//	mask.go          the masked fiscal code of the LogValue methods
//	layering_test.go keeps SQL drivers out of idp and idp/registry
//	sqlstore/        the SQL store: SQLite and PostgreSQL
//	registrytest/    DSNs of throw-away SQLite and PostgreSQL databases for tests
package registry
