package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot is the repository's root, seen from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// run runs name with args from the repository root, bounded by timeout, and
// returns its standard output; a failure ends the test with both outputs.
func run(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runErr(timeout, repoRoot(t), name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func runErr(timeout time.Duration, dir, name string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return stdout.String(), stderr.String(), err
}

// podman runs scripts/podman.sh (podman with the flags these machines need).
func podman(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	return run(t, timeout, filepath.Join(repoRoot(t), "scripts", "podman.sh"), args...)
}

// requirePodman fails the test, saying why and how to fix it, when podman
// cannot run containers here.
func requirePodman(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed: apt-get install -y --no-install-recommends podman runc (scripts/test-setup.sh does)")
	}
	if _, errOut, err := runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "info", "--format", "{{.Host.OCIRuntime.Name}}"); err != nil {
		t.Fatalf("podman cannot run here (%v): %s\nrootful podman with runc and cgroupfs is what scripts/podman.sh sets up; see its comment", err, errOut)
	}
}

// staticBinary is the binary the image holds: CNSGATE_TEST_BIN (make
// test's bin/cnsgate, built by `make build` as `make image` builds it) or
// one built here the same way.
func staticBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CNSGATE_TEST_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "cnsgate")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=deploy-test", "-o", bin, "./cmd/cnsgate")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build cnsgate: %v\n%s", err, out)
	}
	return bin
}

// helmVersion is the helm CLI the chart is checked with.
const helmVersion = "v4.3.2"

// helmBinary is helm, built once from the Go module proxy into the user's
// cache (CNSGATE_HELM names one already there).
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("CNSGATE_HELM"); h != "" {
		return h
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for helm: %v", err)
	}
	dir := filepath.Join(cache, "cnsgate", "helm-"+helmVersion)
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "helm.sh/helm/v4/cmd/helm@"+helmVersion)
	cmd.Dir = os.TempDir() // outside this module: helm is not one of its dependencies
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helm %s from the Go module proxy (go install helm.sh/helm/v4/cmd/helm@%s) failed: %v\n%s", helmVersion, helmVersion, err, out)
	}
	return bin
}
