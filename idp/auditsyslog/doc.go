// Package auditsyslog sends cnsgate's audit events to a SIEM as RFC 5424
// syslog messages over TCP, framed by octet counting (RFC 6587 §3.4.1),
// optionally over TLS (RFC 5425). It owns one connection, a bounded queue
// and the goroutine that drains it; it never touches the registry, which
// stays the authoritative audit trail.
//
// Send never blocks the request that audits: an event that finds the queue
// full is dropped, counted (Observer.SyslogDropped, the metric
// cnsgate_audit_syslog_dropped_total) and logged with its kind and request
// id. A failed connection or write is retried with a doubling back-off,
// the event in hand resent first, the others waiting in the queue
// (Observer.SyslogQueueDepth).
//
// # Files
//
//	doc.go       this map
//	sink.go      Config, Sink: the queue, the sender goroutine, reconnection with back-off
//	message.go   the RFC 5424 message of an event and its octet-counted frame
package auditsyslog
