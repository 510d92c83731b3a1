package deploy

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/internal/freeport"
)

// nonRoot is the image's user, as distroless names it.
const nonRoot = "65532"

// TestImageRunsReadOnlyAsNonRoot builds the image the way `make image` does
// (scripts/image.sh: FROM scratch around the static binary, with podman),
// then runs it as its users do: --help; `serve` with the default command,
// the configuration mounted read-only, a read-only root filesystem without
// even a tmpfs (a write outside the volumes fails), every capability dropped, answering /readyz and the OpenID
// discovery document over loopback, and stopping cleanly on SIGTERM;
// `cnsgate demo` writing only into its volume.
func TestImageRunsReadOnlyAsNonRoot(t *testing.T) {
	requirePodman(t)
	bin := staticBinary(t)
	tag := "localhost/cnsgate:test-" + randomHex(t)
	run(t, 5*time.Minute, filepath.Join(repoRoot(t), "scripts", "image.sh"), bin, tag, "deploy-test")
	t.Cleanup(func() {
		runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "rmi", "-f", tag)
	})

	var img []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
		}
	}
	if err := json.Unmarshal([]byte(podman(t, time.Minute, "image", "inspect", tag)), &img); err != nil || len(img) != 1 {
		t.Fatalf("podman image inspect %s: %v", tag, err)
	}
	c := img[0].Config
	if c.User != nonRoot+":"+nonRoot || strings.Join(c.Entrypoint, " ") != "/usr/local/bin/cnsgate" ||
		strings.Join(c.Cmd, " ") != "serve --config /etc/cnsgate/config.yaml" {
		t.Errorf("image config: user %q, entrypoint %q, cmd %q; want %s:%s, cnsgate, serve --config /etc/cnsgate/config.yaml", c.User, c.Entrypoint, c.Cmd, nonRoot, nonRoot)
	}

	help := podman(t, time.Minute, "run", "--rm", "--network", "host", "--read-only", tag, "--help")
	if !strings.Contains(help, "cnsgate serve --config FILE") {
		t.Errorf("cnsgate --help in the image printed:\n%s", help)
	}
	t.Run("serve", func(t *testing.T) { imageServe(t, tag) })
	t.Run("demo", func(t *testing.T) { imageDemo(t, tag) })
}

// imageServe runs `serve` (the image's default command) on a configuration
// of demo material mounted read-only and a data volume for SQLite.
func imageServe(t *testing.T, tag string) {
	var err error
	dir := t.TempDir()
	ports := loopbackPorts(t)
	// A configured client (its relying party need not run) turns the OpenID Provider on.
	if ports.Esenzioni, err = freeport.Addr(); err != nil {
		t.Fatal(err)
	}
	setup, err := demo.Prepare(filepath.Join(dir, "etc"), ports, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	dbLine := "dsn: " + filepath.Join(setup.Dir, "cnsgate.db") + "\n"
	if !strings.Contains(string(raw), dbLine) {
		t.Fatalf("the demo configuration changed shape (no %q); edit this test", dbLine)
	}
	cfg := strings.Replace(string(raw), dbLine, "dsn: /var/lib/cnsgate/cnsgate.db\n", 1)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	chownTree(t, dir)

	name := "cnsgate-test-" + randomHex(t)
	podman(t, time.Minute, "run", "-d", "--name", name, "--network", "host",
		"--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"-v", setup.Dir+":"+setup.Dir+":ro", "-v", cfgFile+":/etc/cnsgate/config.yaml:ro", "-v", data+":/var/lib/cnsgate",
		tag)
	t.Cleanup(func() {
		runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "rm", "-f", name)
	})
	waitReady(t, name, ports.Admin)
	checkUID(t, name)

	client := tlsClient(t, setup.TLSCAFile)
	resp, err := client.Get("https://" + ports.Public + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("discovery from the container: %v\n%s", err, containerLogs(t, name))
	}
	var disc struct{ Issuer string }
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil || disc.Issuer != "https://"+ports.Public {
		t.Errorf("discovery: issuer %q (%v), want https://%s", disc.Issuer, err, ports.Public)
	}
	if _, err := os.Stat(filepath.Join(data, "cnsgate.db")); err != nil {
		t.Errorf("the SQLite registry is not in the data volume: %v", err)
	}
	podman(t, time.Minute, "stop", "--time", "20", name)
	if code := strings.TrimSpace(podman(t, time.Minute, "inspect", "--format", "{{.State.ExitCode}}", name)); code != "0" {
		t.Errorf("serve exited with %s after SIGTERM:\n%s", code, containerLogs(t, name))
	}
}

// imageDemo runs `cnsgate demo` in the image: its directory goes to the
// volume at the working directory /var/lib/cnsgate.
func imageDemo(t *testing.T, tag string) {
	data := t.TempDir()
	chownTree(t, data)
	ports := loopbackPorts(t)
	name := "cnsgate-test-" + randomHex(t)
	podman(t, time.Minute, "run", "-d", "--name", name, "--network", "host",
		"--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"-v", data+":/var/lib/cnsgate", tag,
		"demo", "--public", ports.Public, "--cns", ports.CNS, "--admin", ports.Admin, "--esenzioni", "off", "--cms", "off")
	t.Cleanup(func() {
		runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "rm", "-f", name)
	})
	waitReady(t, name, ports.Admin)
	checkUID(t, name)
	client := tlsClient(t, filepath.Join(data, "cnsgate-demo", "tls", "ca.crt"))
	resp, err := client.Get("https://" + ports.Public + "/")
	if err != nil {
		t.Fatalf("the demo's welcome page: %v\n%s", err, containerLogs(t, name))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the demo's welcome page: %s", resp.Status)
	}
}

func loopbackPorts(t *testing.T) demo.Ports {
	t.Helper()
	var p [3]int
	for i := range p {
		var err error
		if p[i], err = freeport.Port(); err != nil {
			t.Fatal(err)
		}
	}
	return demo.Ports{Public: fmt.Sprintf("localhost:%d", p[0]), CNS: fmt.Sprintf("localhost:%d", p[1]), Admin: fmt.Sprintf("127.0.0.1:%d", p[2])}
}

// waitReady waits for the container's /readyz over loopback.
func waitReady(t *testing.T, name, admin string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		state, _, _ := runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "inspect", "--format", "{{.State.Status}}", name)
		if strings.TrimSpace(state) == "exited" || time.Now().After(deadline) {
			t.Fatalf("container %s never answered /readyz on %s (state %s):\n%s", name, admin, strings.TrimSpace(state), containerLogs(t, name))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkUID: the container's process runs as the non-root user.
func checkUID(t *testing.T, name string) {
	t.Helper()
	pid := strings.TrimSpace(podman(t, time.Minute, "inspect", "--format", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("the container's process %s: %v", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "Uid:") {
			if f := strings.Fields(line); len(f) < 3 || f[1] != nonRoot || f[2] != nonRoot {
				t.Errorf("the container runs as %q, want uid %s", line, nonRoot)
			}
			return
		}
	}
	t.Errorf("no Uid line in /proc/%s/status", pid)
}

func containerLogs(t *testing.T, name string) string {
	out, errOut, _ := runErr(time.Minute, repoRoot(t), filepath.Join(repoRoot(t), "scripts", "podman.sh"), "logs", name)
	s := out + errOut
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return s
}

// chownTree gives dir to the image's user, as an operator does with the
// volumes of a container that does not run as root.
func chownTree(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65532, 65532)
	})
	if err != nil {
		t.Fatalf("giving the volumes to uid %s (the test runs podman rootful, as root): %v", nonRoot, err)
	}
	// t.TempDir's parents are private to root; the container's user must
	// reach the mounted paths.
	for p := filepath.Dir(dir); p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func tlsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
