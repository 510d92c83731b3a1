package idptest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cnsgate/cnsgate/x509cns"
)

// LogCapture keeps every line a test's logger writes.
type LogCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (c *LogCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// Lines returns the lines written so far.
func (c *LogCapture) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Split(strings.TrimRight(c.buf.String(), "\n"), "\n")
}

// FiscalCodeLines returns the lines that hold a fiscal code in full (the
// pattern of DESIGN.md, in either case, anywhere in the line).
func (c *LogCapture) FiscalCodeLines() []string {
	var out []string
	for _, l := range c.Lines() {
		if x509cns.MaskFiscalCodes(l) != l {
			out = append(out, l)
		}
	}
	return out
}

// FiscalCodeFreeLogger returns a debug-level logger that captures every
// line, without the masking net of idp.LogHandler, so that what the code
// logs is judged as written; when t ends (after the service has closed)
// it fails t on any line holding a fiscal code in full.
func FiscalCodeFreeLogger(t *testing.T) *slog.Logger {
	t.Helper()
	c := &LogCapture{}
	t.Cleanup(func() { CheckNoFiscalCodes(t, c) })
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// CheckNoFiscalCodes fails t for each captured line holding a fiscal code.
func CheckNoFiscalCodes(t *testing.T, c *LogCapture) {
	t.Helper()
	for _, l := range c.FiscalCodeLines() {
		t.Errorf("a log line holds a fiscal code in full: %s", l)
	}
}
