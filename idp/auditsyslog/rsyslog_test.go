package auditsyslog

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/internal/freeport"
)

// TestSinkToRsyslog sends events to a real rsyslogd (imtcp, which reads
// octet-counted frames) and reads back what rsyslog parsed of them: the
// MSGID, APP-NAME and structured data, so that the messages are RFC 5424
// as another implementation reads it.
func TestSinkToRsyslog(t *testing.T) {
	bin := "/usr/sbin/rsyslogd"
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("rsyslogd is needed: apt-get install rsyslog (scripts/test-setup.sh)")
	}
	port, err := freeport.Port()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="parsed" type="string" string="%%protocol-version%%|%%app-name%%|%%msgid%%|%%pri%%|%%structured-data%%\n")
action(type="omfile" file=%q template="parsed")
`, dir, port, out)
	cf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-f", cf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s, err := New(Config{Address: addr, Hostname: "host", RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		s.Send(event(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Close(ctx)
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); len(lines) < 3; time.Sleep(50 * time.Millisecond) {
		raw, _ := os.ReadFile(out)
		lines = strings.Split(strings.TrimSpace(string(raw)), "\n")
		if len(raw) == 0 {
			lines = nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslog wrote %d lines, want 3; its output:\n%s", len(lines), stderr.String())
		}
	}
	for i, l := range lines {
		want := fmt.Sprintf(`1|cnsgate|login|109|[cnsgate@32473 kind="login" outcome="failure" reason="revoked" fiscal_code="RSS************S" issuer="CA \"Test\" [x\]" request_id="r%d" detail="{\"detail\":\"x\"}"]`, i)
		if l != want {
			t.Errorf("rsyslog parsed line %d as\n%s\nwant\n%s", i, l, want)
		}
	}
}
