package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"github.com/cnsgate/cnsgate/idp/auditsyslog"
)

// buildAuditSyslog starts the audit trail's syslog sink when
// audit.syslog.address is set.
func (g *gateway) buildAuditSyslog() error {
	c := g.cfg.Audit.Syslog
	if c.Address == "" {
		return nil
	}
	cfg := auditsyslog.Config{Address: c.Address, Queue: c.Queue, RevealFiscalCode: g.cfg.Audit.RevealFiscalCode}
	if c.TLS {
		tc, err := syslogTLS(c.Address, c.CAFile, c.ServerName)
		if err != nil {
			return fmt.Errorf("audit: syslog: %w", err)
		}
		cfg.TLS = tc
	}
	s, err := auditsyslog.New(cfg, g.metrics, g.logger)
	if err != nil {
		return err
	}
	g.syslog = s
	g.logger.Info("audit events also sent to syslog", "addr", c.Address, "tls", c.TLS, "queue", c.Queue)
	return nil
}

// syslogTLS is the TLS configuration towards the collector: its
// certificate checked against caFile (default: the system's CAs) for
// serverName (default: the address's host).
func syslogTLS(addr, caFile, serverName string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		tc.ServerName = host
	}
	if caFile != "" {
		raw, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(raw) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
