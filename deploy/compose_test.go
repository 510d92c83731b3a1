package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cnsgate/cnsgate/config"
)

// composeFile is the part of deploy/compose/compose.yaml the checks read.
type composeFile struct {
	Services map[string]struct {
		Image           string
		Command         []string
		User            string
		ReadOnly        bool     `yaml:"read_only"`
		CapDrop         []string `yaml:"cap_drop"`
		StopGracePeriod string   `yaml:"stop_grace_period"`
		Volumes         []string
		Secrets         []any
		Networks        map[string]struct {
			IPv4 string `yaml:"ipv4_address"`
		}
	}
}

var (
	haproxyServerRE = regexp.MustCompile(`(?m)^\s*server (cnsgate-\d+) ([0-9.]+):(\d+) check port (\d+)$`)
	haproxySourceRE = regexp.MustCompile(`(?m)^backend (\S+)\n(?:\s+.*\n)*?\s+source ([0-9.]+)$`)
	haproxyCheckRE  = regexp.MustCompile(`inter (\d+)ms fall (\d+)`)
	haproxyTimeout  = regexp.MustCompile(`(?m)^\s*timeout check (\d+)ms$`)
)

// TestComposeTopology checks deploy/compose against what it mounts: two
// read-only non-root replicas, HAProxy running deploy/haproxy/haproxy.cfg
// unchanged whose server and source addresses are the compose networks'
// ones, a configuration cnsgate loads whose secret files are the compose
// secrets, which trusts HAProxy's public path and not its card path, and
// whose drain outlasts HAProxy's detection of a stopping replica.
func TestComposeTopology(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "compose")
	raw, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"cnsgate-1", "cnsgate-2", "haproxy", "redis", "postgres", "prometheus", "grafana"} {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("compose.yaml has no service %s", name)
		}
		for _, v := range s.Volumes { // every file it mounts from the repository is there
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, ".") && !strings.Contains(src, "certs") && !strings.HasSuffix(src, "/tls") && !strings.HasSuffix(src, "/ca") {
				if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
	cfgText, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	hcfg := string(cfgText)
	if !strings.Contains(strings.Join(c.Services["haproxy"].Volumes, "\n"), "../haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro") {
		t.Error("HAProxy does not run deploy/haproxy/haproxy.cfg")
	}
	network := map[string]string{"cnsgate_public": "public", "cnsgate_cns": "cardpath"}
	sources := haproxySourceRE.FindAllStringSubmatch(hcfg, -1)
	if len(sources) != 2 {
		t.Errorf("haproxy.cfg: %d backends with a source address, want 2 (public and card paths)", len(sources))
	}
	for _, m := range sources {
		if ip := c.Services["haproxy"].Networks[network[m[1]]].IPv4; ip != m[2] {
			t.Errorf("backend %s leaves from %s, but HAProxy's address on %s is %q", m[1], m[2], network[m[1]], ip)
		}
	}
	servers := 0
	for _, m := range haproxyServerRE.FindAllStringSubmatch(hcfg, -1) {
		net := map[string]string{"8443": "public", "8444": "cardpath"}[m[3]]
		s, ok := c.Services[m[1]]
		if !ok {
			continue // cnsgate-3: a replica compose does not run
		}
		servers++
		if s.Networks[net].IPv4 != m[2] {
			t.Errorf("haproxy.cfg sends %s:%s to %s, which is %q on network %s", m[1], m[3], m[2], s.Networks[net].IPv4, net)
		}
	}
	if servers != 4 {
		t.Errorf("%d haproxy.cfg server lines name compose's two replicas, want 4 (two per backend)", servers)
	}
	for _, name := range []string{"cnsgate-1", "cnsgate-2"} {
		checkComposeReplica(t, dir, c, name, hcfg)
	}
}

func checkComposeReplica(t *testing.T, dir string, c composeFile, name, hcfg string) {
	s := c.Services[name]
	if !s.ReadOnly || s.User != "65532:65532" || strings.Join(s.CapDrop, ",") != "ALL" || strings.Join(s.Command, " ") != "serve --config /etc/cnsgate/config.yaml" {
		t.Errorf("%s: read_only %v, user %q, cap_drop %v, command %v", name, s.ReadOnly, s.User, s.CapDrop, s.Command)
	}
	targets := map[string]bool{}
	for _, sec := range s.Secrets {
		if m, ok := sec.(map[string]any); ok {
			targets[m["target"].(string)] = true
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cnsgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	loader := config.Loader{ReadFile: func(path string) ([]byte, error) {
		if !targets[path] {
			missing = append(missing, path)
			return nil, os.ErrNotExist
		}
		if strings.HasSuffix(path, "dsn") {
			return []byte("postgres://cnsgate:pw@postgres/cnsgate?sslmode=disable"), nil
		}
		return bytes.Repeat([]byte("s"), 48), nil
	}}
	cfg, err := loader.Parse(raw)
	if len(missing) > 0 {
		t.Errorf("%s: cnsgate.yaml reads %v, which are not its compose secrets", name, missing)
	}
	if err != nil {
		t.Fatalf("cnsgate refuses deploy/compose/cnsgate.yaml: %v", err)
	}
	hp := c.Services["haproxy"].Networks
	if len(cfg.Proxy.TrustedCIDRs) != 1 || cfg.Proxy.TrustedCIDRs[0] != hp["public"].IPv4+"/32" {
		t.Errorf("proxy.trusted_cidrs %v, want HAProxy's public-path address %s/32 alone (never its card path, %s)", cfg.Proxy.TrustedCIDRs, hp["public"].IPv4, hp["cardpath"].IPv4)
	}
	var inter, fall, check int
	if m := haproxyCheckRE.FindStringSubmatch(hcfg); m != nil {
		inter, fall = atoi(m[1]), atoi(m[2])
	}
	if m := haproxyTimeout.FindStringSubmatch(hcfg); m != nil {
		check = atoi(m[1])
	}
	detect := time.Duration(inter*fall+check) * time.Millisecond
	if detect == 0 || cfg.Shutdown.Drain.Std() < detect+500*time.Millisecond {
		t.Errorf("shutdown.drain %s is shorter than HAProxy's detection (%s) + 500ms", cfg.Shutdown.Drain, detect)
	}
	grace, err := time.ParseDuration(s.StopGracePeriod)
	if err != nil || grace < cfg.Shutdown.Drain.Std()+cfg.Shutdown.Timeout.Std() {
		t.Errorf("%s: stop_grace_period %q is shorter than drain + timeout (%s + %s)", name, s.StopGracePeriod, cfg.Shutdown.Drain, cfg.Shutdown.Timeout)
	}
	if cfg.Listen.Admin != ":9464" || !strings.Contains(hcfg, "check port 9464") {
		t.Errorf("listen.admin %q: HAProxy checks /readyz on port 9464 of each replica", cfg.Listen.Admin)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // the expressions match digits only
	return n
}
