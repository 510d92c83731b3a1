package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	redisPW := write("redis", "hunter2\n")
	dsn := write("dsn", "postgres://cnsgate:pw@db/cnsgate\r\n")
	clientSecret := write("client", "s3cret")
	empty := write("empty", "\n")
	missing := filepath.Join(dir, "missing")

	base := minimal + `
sessions:
  store: redis
  redis: {addrs: ["r:6379"], password_file: %q}
registry: {driver: postgres, dsn_file: %q}
oidc:
  signing_keys: [k.pem]
  subject_salt: ` + testSalt + `
  clients:
    - {id: a, secret_file: %q, redirect_uris: ["https://a/cb"]}
`
	tests := []struct {
		name               string
		redis, dsn, client string
		extra              string
		want               []string
	}{
		{name: "ok/all-secrets", redis: redisPW, dsn: dsn, client: clientSecret},
		{name: "fail/missing-file", redis: missing, dsn: dsn, client: clientSecret, want: []string{
			fmt.Sprintf("sessions: redis: option 'password_file': cannot read '%s': no such file or directory (line 9)", missing),
		}},
		{name: "fail/empty-file", redis: redisPW, dsn: empty, client: clientSecret, want: []string{
			fmt.Sprintf("registry: option 'dsn_file': file '%s' is empty (line 10)", empty),
		}},
		{name: "fail/missing-client-secret", redis: redisPW, dsn: dsn, client: missing, want: []string{
			fmt.Sprintf("oidc: clients[0]: option 'secret_file': cannot read '%s': no such file or directory (line 15)", missing),
		}},
		{name: "fail/both-secret-and-file", redis: redisPW, dsn: dsn, client: clientSecret,
			extra: "\n" + `    - {id: b, secret: x, secret_file: "` + clientSecret + `", redirect_uris: ["https://b/cb"]}` + "\n",
			want:  []string{"oidc: clients[1]: options 'secret' and 'secret_file' are mutually exclusive (line 16)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf(base, tt.redis, tt.dsn, tt.client) + strings.TrimPrefix(tt.extra, "\n")
			c, err := Parse([]byte(doc), nil)
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tt.want != nil {
				return
			}
			if c.Sessions.Redis.Password.Value() != "hunter2" || c.Registry.DSN.Value() != "postgres://cnsgate:pw@db/cnsgate" ||
				c.OIDC.Clients[0].Secret.Value() != "s3cret" {
				t.Errorf("secrets not resolved: %q %q %q", c.Sessions.Redis.Password.Value(), c.Registry.DSN.Value(), c.OIDC.Clients[0].Secret.Value())
			}
			if c.Sessions.Redis.PasswordFile != tt.redis {
				t.Errorf("password_file lost")
			}
		})
	}
}

func TestSecretFileFromEnv(t *testing.T) {
	files := Loader{
		LookupEnv: lookup(map[string]string{"CNSGATE_SESSIONS_REDIS_PASSWORD_FILE": "/run/secrets/redis"}),
		ReadFile: func(p string) ([]byte, error) {
			if p != "/run/secrets/redis" {
				t.Errorf("read %s", p)
			}
			return []byte("pw\n"), nil
		},
	}
	c := mustParse(t, files, minimal)
	if c.Sessions.Redis.Password.Value() != "pw" {
		t.Errorf("password = %q", c.Sessions.Redis.Password.Value())
	}
}

func TestRedaction(t *testing.T) {
	c := valid(t)
	c.Sessions.Redis.Password = "redis-pw-XYZZY"
	c.Registry.DSN = "postgres://u:dsn-pw-XYZZY@db/x"
	c.OIDC.Clients[0].Secret = "client-secret-XYZZY"
	c.OIDC.SubjectSalt = "subject-salt-XYZZY-0123456789abcdef"

	out, err := c.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	jsonOut, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "redis", c.Sessions.Redis, "dsn", c.Registry.DSN)

	renderings := map[string]string{
		"Redacted": string(out),
		"json":     string(jsonOut),
		"%v":       fmt.Sprintf("%v", c),
		"%+v":      fmt.Sprintf("%+v", *c),
		"%#v":      fmt.Sprintf("%#v", *c),
		//lint:ignore S1025 the case is what fmt's %s verb prints, whatever String does
		"%s":   fmt.Sprintf("%s", c.OIDC.Clients[0].Secret),
		"slog": logged.String(),
	}
	for name, s := range renderings {
		if strings.Contains(s, "XYZZY") {
			t.Errorf("%s leaks a secret:\n%s", name, s)
		}
	}
	if !strings.Contains(string(out), "password: '[REDACTED]'") || !strings.Contains(string(out), "secret: '[REDACTED]'") {
		t.Errorf("Redacted output does not mark the secrets:\n%s", out)
	}
	if !strings.Contains(string(out), "idle_timeout: 15m") {
		t.Errorf("durations not written as strings:\n%s", out)
	}

	// The redacted rendering is itself a valid file, secrets aside.
	c.Sessions.Redis.Password, c.Registry.DSN, c.OIDC.Clients[0].Secret = "", "", "x"
	c.OIDC.SubjectSalt, c.OIDC.SubjectSaltFile = "", "salt"
	c.SAML.NameIDSalt, c.SAML.NameIDSaltFile = "", "salt"
	out, _ = c.Redacted()
	saltFile := Loader{ReadFile: func(p string) ([]byte, error) {
		if p == "salt" {
			return []byte(testSalt), nil
		}
		return noFiles().ReadFile(p)
	}}
	if _, err := saltFile.Parse(out); err != nil {
		t.Errorf("redacted output does not parse back: %v\n%s", err, out)
	}
}

func TestAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", strings.Repeat("t", MinAdminTokenLength)+"\n")
	short := write("short", "tooshort\n")
	spaced := write("spaced", strings.Repeat("t", 20)+" "+strings.Repeat("t", 20))
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name, file string
		want       []string
	}{
		{"ok/off", "", nil},
		{"ok/token", good, nil},
		{"fail/missing", missing, []string{fmt.Sprintf("admin: option 'token_file': cannot read '%s': no such file or directory (line 6)", missing)}},
		{"fail/short", short, []string{fmt.Sprintf("admin: option 'token_file': the token in '%s' must be at least 32 characters without spaces or line breaks (line 6)", short)}},
		{"fail/spaces", spaced, []string{fmt.Sprintf("admin: option 'token_file': the token in '%s' must be at least 32 characters without spaces or line breaks (line 6)", spaced)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(minimal+fmt.Sprintf("admin: {token_file: %q}\n", tt.file)), nil)
			if got := problemsOf(t, err); !slices.Equal(got, tt.want) {
				t.Fatalf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tt.want != nil {
				return
			}
			want := ""
			if tt.file != "" {
				want = strings.Repeat("t", MinAdminTokenLength)
			}
			if c.Admin.Token.Value() != want {
				t.Fatalf("token %q", c.Admin.Token.Value())
			}
			if red, _ := c.Redacted(); strings.Contains(string(red), strings.Repeat("t", MinAdminTokenLength)) {
				t.Fatalf("the token shows in the redacted configuration:\n%s", red)
			}
		})
	}
}
