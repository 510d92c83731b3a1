package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cnsgate/cnsgate/config"
)

// chartDir is the Helm chart, from the repository root.
const chartDir = "deploy/helm/cnsgate"

// manifest is one rendered Kubernetes object, decoded twice: its kind and
// name, and the whole document for the checks.
type manifest struct {
	Kind     string
	Metadata struct {
		Name        string
		Labels      map[string]string
		Annotations map[string]string
	}
	Spec yaml.Node
	Data map[string]string
}

type rendered map[string]manifest // "Kind/name" -> object

// renderChart runs helm template with the values files given (none: the
// defaults) and decodes every object.
func renderChart(t *testing.T, helm string, sets []string, values ...string) rendered {
	t.Helper()
	args := []string{"template", "cnsgate", chartDir, "--namespace", "login"}
	for _, v := range values {
		args = append(args, "-f", filepath.Join(chartDir, v))
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out := run(t, 2*time.Minute, helm, args...)
	objs := rendered{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var m manifest
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template %v: output is not YAML: %v", values, err)
		}
		if m.Kind == "" {
			continue
		}
		key := m.Kind + "/" + m.Metadata.Name
		if _, dup := objs[key]; dup {
			t.Fatalf("helm template %v: %s rendered twice", values, key)
		}
		objs[key] = m
	}
	return objs
}

func (r rendered) get(t *testing.T, kind, name string, into any) manifest {
	t.Helper()
	m, ok := r[kind+"/"+name]
	if !ok {
		t.Fatalf("no %s %s rendered; have %v", kind, name, r.keys())
	}
	if into != nil {
		if err := m.Spec.Decode(into); err != nil {
			t.Fatalf("%s %s: %v", kind, name, err)
		}
	}
	return m
}

func (r rendered) keys() []string {
	var ks []string
	for k := range r {
		ks = append(ks, k)
	}
	return ks
}

// The parts of the specs the checks read.
type (
	deploymentSpec struct {
		Replicas *int
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		}
		Template struct {
			Metadata struct {
				Labels      map[string]string
				Annotations map[string]string
			}
			Spec podSpec
		}
	}
	podSpec struct {
		TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot bool `yaml:"runAsNonRoot"`
			RunAsUser    int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Affinity struct {
			PodAntiAffinity map[string]any `yaml:"podAntiAffinity"`
		}
		Containers []container
		Volumes    []struct {
			Name   string
			Secret *struct {
				SecretName string `yaml:"secretName"`
			}
			ConfigMap *struct{ Name string } `yaml:"configMap"`
			EmptyDir  any                    `yaml:"emptyDir"`
		}
	}
	container struct {
		Image string
		Args  []string
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
		}
		ReadinessProbe probe `yaml:"readinessProbe"`
		LivenessProbe  probe `yaml:"livenessProbe"`
		Lifecycle      struct {
			PreStop struct {
				Sleep struct{ Seconds int }
			} `yaml:"preStop"`
		}
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
			RunAsNonRoot             bool  `yaml:"runAsNonRoot"`
			Capabilities             struct{ Drop []string }
		} `yaml:"securityContext"`
		Resources struct {
			Requests map[string]string
			Limits   map[string]string
		}
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	probe struct {
		HTTPGet struct {
			Path string
			Port string
		} `yaml:"httpGet"`
	}
	serviceSpec struct {
		Type                  string
		ExternalTrafficPolicy string `yaml:"externalTrafficPolicy"`
		Selector              map[string]string
		Ports                 []struct {
			Name       string
			Port       int
			TargetPort string `yaml:"targetPort"`
			NodePort   int    `yaml:"nodePort"`
		}
	}
)

// chartCase is one values file and what its rendering must show.
type chartCase struct {
	values        []string
	replicas      int  // 0: the HPA owns the count
	hpaMin        int  // 0: no HPA
	hardAffinity  bool // required, not preferred, anti-affinity
	drain, grace  int
	preStop       int
	redisMode     string
	redisPassword bool
	cnsMode       string // passthrough or ingress
	cnsService    string // the card Service's type
	monitoring    bool   // ServiceMonitor and PrometheusRule
	networkPolicy bool
	saml          bool
}

// TestHelmChart lints the chart and renders it with the default values and
// with the Sentinel, Cluster and ingress values files, then checks what an
// operator relies on: two replicas spread over nodes and a disruption
// budget, probes on the admin port, a grace period that outlasts
// shutdown.drain, a non-root read-only container without capabilities, a
// configuration cnsgate itself accepts whose every file is mounted, the
// card listener's Service or Ingress, and the optional monitoring objects.
func TestHelmChart(t *testing.T) {
	helm := helmBinary(t)
	cases := map[string]chartCase{
		"ok/default": {replicas: 2, drain: 5, grace: 25, redisMode: "standalone", cnsMode: "passthrough", cnsService: "LoadBalancer"},
		"ok/sentinel": {values: []string{"ci/sentinel-values.yaml"}, replicas: 2, drain: 5, grace: 25, redisMode: "sentinel", redisPassword: true,
			cnsMode: "passthrough", cnsService: "LoadBalancer", monitoring: true, networkPolicy: true, saml: true},
		"ok/cluster": {values: []string{"ci/cluster-values.yaml"}, hpaMin: 3, hardAffinity: true, drain: 10, preStop: 3, grace: 33,
			redisMode: "cluster", redisPassword: true, cnsMode: "passthrough", cnsService: "NodePort"},
		"ok/ingress": {values: []string{"ci/ingress-values.yaml"}, replicas: 2, drain: 5, grace: 25, redisMode: "standalone",
			cnsMode: "ingress", cnsService: "ClusterIP", networkPolicy: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			lint := []string{"lint", "--strict", chartDir}
			for _, v := range c.values {
				lint = append(lint, "-f", filepath.Join(chartDir, v))
			}
			run(t, 2*time.Minute, helm, lint...)
			objs := renderChart(t, helm, nil, c.values...)
			checkDeployment(t, objs, c)
			checkConfig(t, objs, c)
			checkServices(t, objs, c)
			checkOptional(t, objs, c)
		})
	}
}

func checkDeployment(t *testing.T, objs rendered, c chartCase) {
	var d deploymentSpec
	objs.get(t, "Deployment", "cnsgate", &d)
	switch {
	case c.replicas > 0 && (d.Replicas == nil || *d.Replicas != c.replicas):
		t.Errorf("replicas %v, want %d", d.Replicas, c.replicas)
	case c.replicas == 0 && d.Replicas != nil:
		t.Errorf("replicas %d set beside an HPA", *d.Replicas)
	}
	for k, v := range d.Selector.MatchLabels {
		if d.Template.Metadata.Labels[k] != v {
			t.Errorf("the selector's %s=%s is not on the pods", k, v)
		}
	}
	if d.Template.Metadata.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation: a configuration change would not roll the pods")
	}
	p := d.Template.Spec
	want := "preferredDuringSchedulingIgnoredDuringExecution"
	if c.hardAffinity {
		want = "requiredDuringSchedulingIgnoredDuringExecution"
	}
	if _, ok := p.Affinity.PodAntiAffinity[want]; !ok || len(p.Affinity.PodAntiAffinity) != 1 {
		t.Errorf("pod anti-affinity %v, want %s", p.Affinity.PodAntiAffinity, want)
	}
	if p.TerminationGracePeriodSeconds != c.grace || c.grace < c.drain+c.preStop+15 {
		t.Errorf("terminationGracePeriodSeconds %d, want %d (preStop %d + drain %d + timeout 15 + 5)", p.TerminationGracePeriodSeconds, c.grace, c.preStop, c.drain)
	}
	if !p.SecurityContext.RunAsNonRoot || p.SecurityContext.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and uid 65532", p.SecurityContext)
	}
	if len(p.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(p.Containers))
	}
	ct := p.Containers[0]
	if ct.ReadinessProbe.HTTPGet.Path != "/readyz" || ct.ReadinessProbe.HTTPGet.Port != "admin" {
		t.Errorf("readiness probe %+v, want /readyz on admin", ct.ReadinessProbe.HTTPGet)
	}
	if ct.LivenessProbe.HTTPGet.Path != "/healthz" || ct.LivenessProbe.HTTPGet.Port != "admin" {
		t.Errorf("liveness probe %+v, want /healthz on admin", ct.LivenessProbe.HTTPGet)
	}
	if ct.Lifecycle.PreStop.Sleep.Seconds != c.preStop {
		t.Errorf("preStop sleep %d s, want %d", ct.Lifecycle.PreStop.Sleep.Seconds, c.preStop)
	}
	sc := ct.SecurityContext
	if !sc.ReadOnlyRootFilesystem || !sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!reflect.DeepEqual(sc.Capabilities.Drop, []string{"ALL"}) {
		t.Errorf("container securityContext %+v, want read-only root, non-root, no privilege escalation, capabilities dropped", sc)
	}
	if ct.Resources.Requests["cpu"] == "" || ct.Resources.Requests["memory"] == "" || ct.Resources.Limits["memory"] == "" {
		t.Errorf("resources %+v, want cpu and memory requests and a memory limit", ct.Resources)
	}
	ports := map[string]int{}
	for _, port := range ct.Ports {
		ports[port.Name] = port.ContainerPort
	}
	if !reflect.DeepEqual(ports, map[string]int{"public": 8443, "cns": 8444, "admin": 9464}) {
		t.Errorf("container ports %v", ports)
	}
	volumes := map[string]bool{}
	for _, v := range p.Volumes {
		volumes[v.Name] = true
	}
	for _, m := range ct.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s at %s has no volume", m.Name, m.MountPath)
		}
		if !m.ReadOnly && m.MountPath != "/var/lib/cnsgate" {
			t.Errorf("mount %s at %s is writable; only /var/lib/cnsgate may be", m.Name, m.MountPath)
		}
	}
}

// mounts are the container's mount paths, longest first.
func mounts(t *testing.T, objs rendered) []string {
	var d deploymentSpec
	objs.get(t, "Deployment", "cnsgate", &d)
	var out []string
	for _, m := range d.Template.Spec.Containers[0].VolumeMounts {
		out = append(out, m.MountPath)
	}
	return out
}

func mounted(path string, mountPaths []string) bool {
	for _, m := range mountPaths {
		if path == m || strings.HasPrefix(path, strings.TrimSuffix(m, "/")+"/") {
			return true
		}
	}
	return false
}

// checkConfig loads the ConfigMap's config.yaml with cnsgate's own loader:
// it must be valid, and every secret file it reads must lie in a mounted
// volume (the loader is given file contents only there).
func checkConfig(t *testing.T, objs rendered, c chartCase) {
	cm := objs.get(t, "ConfigMap", "cnsgate", nil)
	raw := cm.Data["config.yaml"]
	mountPaths := mounts(t, objs)
	var unmounted []string
	loader := config.Loader{ReadFile: func(path string) ([]byte, error) {
		if !mounted(path, mountPaths) {
			unmounted = append(unmounted, path)
			return nil, os.ErrNotExist
		}
		switch {
		case strings.HasSuffix(path, "/dsn"):
			return []byte("postgres://cnsgate@db/cnsgate?sslmode=verify-full"), nil
		default: // salts, passwords, tokens, client secrets: long enough for every rule
			return bytes.Repeat([]byte("s"), 48), nil
		}
	}}
	cfg, err := loader.Parse([]byte(raw))
	if len(unmounted) > 0 {
		t.Errorf("the configuration reads files no volume holds: %v", unmounted)
	}
	if err != nil {
		t.Fatalf("cnsgate refuses the chart's configuration: %v\n%s", err, raw)
	}
	files := []string{cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.Revocation.CacheDir}
	files = append(append(files, cfg.Trust.CADirs...), cfg.OIDC.SigningKeys...)
	if c.saml {
		files = append(files, cfg.SAML.CertFile, cfg.SAML.KeyFile)
	}
	for _, f := range files {
		if f != "" && !mounted(f, mountPaths) {
			t.Errorf("the configuration names %s, which no volume holds", f)
		}
	}
	if cfg.Shutdown.Drain.Std() != time.Duration(c.drain)*time.Second {
		t.Errorf("shutdown.drain %s, want %ds", cfg.Shutdown.Drain, c.drain)
	}
	if string(cfg.Sessions.Store) != "redis" || string(cfg.Sessions.Redis.Mode) != c.redisMode || string(cfg.Registry.Driver) != "postgres" {
		t.Errorf("sessions %s (redis mode %q), registry %s; want redis %s and postgres", cfg.Sessions.Store, cfg.Sessions.Redis.Mode, cfg.Registry.Driver, c.redisMode)
	}
	if (cfg.Sessions.Redis.Password.Value() != "") != c.redisPassword {
		t.Errorf("Redis password set: %v, want %v", cfg.Sessions.Redis.Password.Value() != "", c.redisPassword)
	}
	if cfg.Listen.Admin != ":9464" {
		t.Errorf("listen.admin %q: the kubelet's probes and Prometheus must reach it", cfg.Listen.Admin)
	}
	proxied := c.cnsMode == "ingress"
	if proxied != (len(cfg.Proxy.TrustedCIDRs) > 0) || proxied && string(cfg.Proxy.Header) != "nginx" {
		t.Errorf("proxy %+v for the card listener in mode %s", cfg.Proxy, c.cnsMode)
	}
}

func checkServices(t *testing.T, objs rendered, c chartCase) {
	var pub, admin, cns serviceSpec
	objs.get(t, "Service", "cnsgate-public", &pub)
	objs.get(t, "Service", "cnsgate-admin", &admin)
	objs.get(t, "Service", "cnsgate-cns", &cns)
	for name, s := range map[string]serviceSpec{"public": pub, "admin": admin, "cns": cns} {
		if len(s.Ports) != 1 || s.Ports[0].TargetPort != name {
			t.Errorf("Service %s: ports %+v, want one to the container's %s port", name, s.Ports, name)
		}
		if s.Selector["app.kubernetes.io/name"] != "cnsgate" {
			t.Errorf("Service %s selects %v", name, s.Selector)
		}
	}
	if admin.Type != "ClusterIP" {
		t.Errorf("the admin Service is %s: /metrics and the admin API stay inside the cluster", admin.Type)
	}
	if cns.Type != c.cnsService {
		t.Errorf("card Service type %s, want %s", cns.Type, c.cnsService)
	}
	if c.cnsMode == "passthrough" {
		if cns.ExternalTrafficPolicy != "Local" {
			t.Errorf("card Service externalTrafficPolicy %q: Local keeps the citizen's address", cns.ExternalTrafficPolicy)
		}
		if _, ok := objs["Ingress/cnsgate-cns"]; ok {
			t.Error("an Ingress for the card listener in passthrough mode")
		}
		return
	}
	ing := objs.get(t, "Ingress", "cnsgate-cns", nil)
	a := ing.Metadata.Annotations
	if a["nginx.ingress.kubernetes.io/auth-tls-verify-client"] != "optional_no_ca" || a["nginx.ingress.kubernetes.io/auth-tls-secret"] == "" ||
		a["nginx.ingress.kubernetes.io/backend-protocol"] != "HTTPS" ||
		!strings.Contains(a["nginx.ingress.kubernetes.io/configuration-snippet"], "proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;") ||
		!strings.Contains(a["nginx.ingress.kubernetes.io/server-snippet"], "ssl_session_tickets off;") {
		t.Errorf("card Ingress annotations %v: want the client certificate asked, forwarded in X-SSL-Client-Cert, HTTPS to cnsgate, no TLS resumption", a)
	}
	pubIng := objs.get(t, "Ingress", "cnsgate-public", nil)
	if !strings.Contains(pubIng.Metadata.Annotations["nginx.ingress.kubernetes.io/configuration-snippet"], `proxy_set_header X-SSL-Client-Cert "";`) {
		t.Error("the public Ingress passes a browser's X-SSL-Client-Cert on")
	}
}

func checkOptional(t *testing.T, objs rendered, c chartCase) {
	var pdb struct {
		MinAvailable int `yaml:"minAvailable"`
	}
	objs.get(t, "PodDisruptionBudget", "cnsgate", &pdb)
	if pdb.MinAvailable < 1 {
		t.Errorf("PodDisruptionBudget minAvailable %d", pdb.MinAvailable)
	}
	if c.hpaMin > 0 {
		var hpa struct {
			MinReplicas int `yaml:"minReplicas"`
		}
		objs.get(t, "HorizontalPodAutoscaler", "cnsgate", &hpa)
		if hpa.MinReplicas != c.hpaMin {
			t.Errorf("HPA minReplicas %d, want %d", hpa.MinReplicas, c.hpaMin)
		}
	} else if _, ok := objs["HorizontalPodAutoscaler/cnsgate"]; ok {
		t.Error("an HPA without autoscaling.enabled")
	}
	_, sm := objs["ServiceMonitor/cnsgate"]
	_, np := objs["NetworkPolicy/cnsgate"]
	if sm != c.monitoring || np != c.networkPolicy {
		t.Errorf("ServiceMonitor %v (want %v), NetworkPolicy %v (want %v)", sm, c.monitoring, np, c.networkPolicy)
	}
	if !c.monitoring {
		return
	}
	var rule struct{ Groups []any }
	objs.get(t, "PrometheusRule", "cnsgate", &rule)
	var shipped struct{ Groups []any }
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &shipped); err != nil {
		t.Fatal(err)
	}
	if len(shipped.Groups) == 0 || !reflect.DeepEqual(rule.Groups, shipped.Groups) {
		t.Error("the PrometheusRule's groups differ from deploy/prometheus/alerts.yml")
	}
}

// TestHelmChartAlertsAreTheShippedOnes: the chart's copy of the alert rules
// (a chart reads only its own files) is deploy/prometheus/alerts.yml.
func TestHelmChartAlertsAreTheShippedOnes(t *testing.T) {
	a, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), chartDir, "files", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s/files/alerts.yml differs from deploy/prometheus/alerts.yml: cp deploy/prometheus/alerts.yml %s/files/", chartDir, chartDir)
	}
}

// TestHelmChartRefusesBadValues: values cnsgate could not run with stop
// helm template with the reason.
func TestHelmChartRefusesBadValues(t *testing.T) {
	helm := helmBinary(t)
	cases := map[string]struct {
		sets []string
		want string
	}{
		"fail/ingress-without-trusted-cidrs": {[]string{"cns.mode=ingress", "cns.ingress.caSecret=ns/ca"}, "cns.ingress.trustedCIDRs: required"},
		"fail/ingress-without-ca":            {[]string{"cns.mode=ingress", "cns.ingress.trustedCIDRs={10.0.0.0/8}"}, "cns.ingress.caSecret: required"},
		"fail/replicas-on-memory-sessions":   {[]string{"sessions.store=memory"}, "replicaCount > 1 needs sessions.store redis"},
		"fail/sentinel-without-master":       {[]string{"sessions.redis.mode=sentinel"}, "sessions.redis.masterName: required"},
		"fail/unknown-cns-mode":              {[]string{"cns.mode=hostport"}, `cns.mode: "hostport"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "cnsgate", chartDir}
			for _, s := range c.sets {
				args = append(args, "--set", s)
			}
			_, errOut, err := runErr(2*time.Minute, repoRoot(t), helm, args...)
			if err == nil || !strings.Contains(errOut, c.want) {
				t.Errorf("helm template --set %v: %v, stderr %q; want a failure saying %q", c.sets, err, errOut, c.want)
			}
		})
	}
}
