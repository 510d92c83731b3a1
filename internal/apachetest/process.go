package apachetest

import (
	"bytes"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopWait bounds the wait for a process to stop on SIGTERM before it is
// killed.
const stopWait = 10 * time.Second

// Process is a child process of a test, started by StartProcess.
type Process struct {
	Name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer // stdout and stderr
	exited chan error   // holds the exit once the process has ended
}

// Write collects the process's output.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output returns what the process has written so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Exited reports the process's exit once it has ended; ok is false while
// it runs.
func (p *Process) Exited() (err error, ok bool) {
	select {
	case err := <-p.exited:
		p.exited <- err
		return err, true
	default:
		return nil, false
	}
}

// StartProcess starts cmd in a process group of its own (Apache's prefork
// MPM signals its whole group when it stops, which would otherwise include
// the test), its output collected. When the test ends it gets SIGTERM and
// is killed if it has not stopped within 10 s (an error of the test); when
// the test failed, its output and whatever more(), if not nil, returns are
// logged.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd, more func() string) *Process {
	t.Helper()
	p := &Process{Name: name, cmd: cmd, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p, p
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if _, ok := p.Exited(); !ok {
			p.stop(t)
		}
		if t.Failed() {
			extra := ""
			if more != nil {
				extra = more()
			}
			t.Logf("%s output:\n%s%s", name, p.Output(), extra)
		}
	})
	return p
}

func (p *Process) stop(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(stopWait):
		_ = p.cmd.Process.Kill()
		p.exited <- <-p.exited
		t.Errorf("%s did not stop on SIGTERM within %v", p.Name, stopWait)
	}
}
