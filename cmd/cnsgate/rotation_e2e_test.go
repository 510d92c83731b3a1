package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/idp/signer"
	"github.com/cnsgate/cnsgate/internal/softhsm"
)

// rotationKey writes a new RSA signing key as `cnsgate keys generate`
// does and returns its file and kid.
func rotationKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	f := filepath.Join(dir, name+".pem")
	if code := run(context.Background(), []string{"keys", "generate", "--alg", "RS256", "--out", f, "--state", "next"}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	k, err := signer.OpenFile(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, k.KeyID()
}

// rotationConfig is the demo configuration with the OIDC client and the
// given oidc.keys items.
func rotationConfig(base, keys string) string {
	return base + "login:\n  confirm_release: false\n" +
		"oidc:\n  subject_salt: " + strings.Repeat("s", 40) + "\n  keys:\n" + keys +
		"  clients:\n    - id: esenzioni\n      secret: a-long-enough-client-secret\n      redirect_uris: [" + testRedirect + "]\n"
}

// sighupUntil rewrites the configuration, sends SIGHUP and waits until
// the logs hold want.
func (s *testServer) sighupUntil(t *testing.T, cfgYAML, want string) {
	t.Helper()
	before := len(s.logs.Lines())
	if err := os.WriteFile(s.setup.ConfigFile, []byte(cfgYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		if slices.ContainsFunc(s.logs.Lines()[before:], func(l string) bool { return strings.Contains(l, want) }) {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("no %q after SIGHUP:\n%s", want, strings.Join(s.logs.Lines()[before:], "\n"))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestServeKeyRotationOnSIGHUP drives a rotation through the
// configuration and SIGHUP on a running serve, go-oidc verifying from
// /jwks at each step, from a PEM key A to a key B in a SoftHSM2 token:
// B in state next is published but A signs; B
// promoted and A retired, B signs and A's token still verifies; A past
// its retire_after leaves /jwks and its token no longer verifies. A
// reload that would change the signed algorithms is refused and B keeps
// signing.
func TestServeKeyRotationOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	fileA, kidA := rotationKey(t, dir, "a")
	// B, the next key, is in the HSM: each reload finds it in the token
	// logged in at start.
	tok := softhsm.New(t)
	tok.GenerateKey(t, "rsa:2048", "rotation-b", "31")
	kidB := thumbprint(t, hsmKey(t, tok, "rotation-b"))
	keyB := "    - pkcs11:\n" + pkcs11YAML(tok, tok.PinFile, "rotation-b", "        ")
	var base string
	s := startServerSetup(t, func(_ *demo.Setup, y string) string {
		base = y
		return rotationConfig(base, "    - file: "+fileA+"\n"+keyB+"      state: next\n")
	})
	citizen, _ := s.setup.Card("citizen")
	if kids := s.jwksKids(t); !slices.Contains(kids, kidA) || !slices.Contains(kids, kidB) {
		t.Fatalf("/jwks %v lacks A %s or the next key B %s", kids, kidA, kidB)
	}
	tokA, _ := s.oidcTokens(t, s.rpBrowser(t, citizen), "openid")["id_token"].(string)
	if kid, err := s.verifyIDToken(t, tokA); err != nil || kid != kidA {
		t.Fatalf("before the rotation: signed by %s (A %s, B %s): %v", kid, kidA, kidB, err)
	}

	retire := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	s.sighupUntil(t, rotationConfig(base, keyB+"    - file: "+fileA+"\n      state: retired\n      retire_after: \""+retire+"\"\n"),
		"signing keys reloaded")
	tokB, _ := s.oidcTokens(t, s.rpBrowser(t, citizen), "openid")["id_token"].(string)
	if kid, err := s.verifyIDToken(t, tokB); err != nil || kid != kidB {
		t.Fatalf("after the promotion: signed by %s, want B %s: %v", kid, kidB, err)
	}
	if _, err := s.verifyIDToken(t, tokA); err != nil {
		t.Fatalf("A's token, A retired: %v", err)
	}

	past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	s.sighupUntil(t, rotationConfig(base, keyB+"    - file: "+fileA+"\n      state: retired\n      retire_after: \""+past+"\"\n"),
		"signing keys reloaded")
	if kids := s.jwksKids(t); slices.Contains(kids, kidA) || !slices.Contains(kids, kidB) {
		t.Fatalf("/jwks %v: A %s past retire_after is still published, or B %s is not", kids, kidA, kidB)
	}
	if _, err := s.verifyIDToken(t, tokA); err == nil {
		t.Fatal("A's token verified after A left /jwks")
	}
	if _, err := s.verifyIDToken(t, tokB); err != nil {
		t.Fatalf("B's token: %v", err)
	}

	ec := filepath.Join(dir, "ec.pem")
	if code := run(context.Background(), []string{"keys", "generate", "--alg", "ES256", "--out", ec}, io.Discard, io.Discard); code != 0 {
		t.Fatal("keys generate failed")
	}
	s.sighupUntil(t, rotationConfig(base, keyB+"    - file: "+ec+"\n"), "signing key reload refused")
	tokB2, _ := s.oidcTokens(t, s.rpBrowser(t, citizen), "openid")["id_token"].(string)
	if kid, err := s.verifyIDToken(t, tokB2); err != nil || kid != kidB {
		t.Fatalf("after a refused reload: signed by %s, want B %s: %v", kid, kidB, err)
	}
}

// TestServeRefusesWrongHSMPin: with a wrong PIN in pin_file, serve stops
// at start naming the key and the token's answer, and check-config
// reports it on the key's line; the PIN is in neither.
func TestServeRefusesWrongHSMPin(t *testing.T) {
	tok := softhsm.Spare(t)
	tok.GenerateKey(t, "rsa:2048", "pin-rsa", "21")
	wrong := tok.WrongPinFile(t)
	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(setup.ConfigFile)
	y := rotationConfig(string(raw), "    - pkcs11:\n"+pkcs11YAML(tok, wrong, "pin-rsa", "        "))
	if err := os.WriteFile(setup.ConfigFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(setup.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = serve(ctx, cfg, setup.ConfigFile, slog.New(slog.NewTextHandler(&logs, nil)), func(bound) { t.Error("serve started with a wrong PIN") }, serveExtras{})
	if err == nil || !strings.Contains(err.Error(), "oidc.keys[0]") || !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
		t.Fatalf("serve with a wrong PIN: %v", err)
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &out, &out); code != 1 ||
		!strings.Contains(out.String(), "oidc: keys[0]: option 'pkcs11'") || !strings.Contains(out.String(), "CKR_PIN_INCORRECT") || !strings.Contains(out.String(), "(line ") {
		t.Fatalf("check-config with a wrong PIN: %d\n%s", code, out.String())
	}
	for _, text := range []string{err.Error(), logs.String(), out.String()} {
		if strings.Contains(text, "00000000") || strings.Contains(text, softhsm.PIN) {
			t.Fatalf("a PIN is shown:\n%s", text)
		}
	}
	t.Logf("serve: %v\ncheck-config:\n%s", err, out.String())
}

// TestStaticBuildRefusesPKCS11Keys: the release binary (CGO_ENABLED=0)
// refuses a pkcs11 key in check-config, on the key's line, and at serve's
// start, each time naming make build-hsm.
func TestStaticBuildRefusesPKCS11Keys(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "cnsgate-static")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(setup.ConfigFile)
	pin := filepath.Join(t.TempDir(), "pin")
	_ = os.WriteFile(pin, []byte("12345678\n"), 0o600)
	tok := &softhsm.Token{Module: "/usr/lib/softhsm/libsofthsm2.so", Label: "cnsgate"}
	y := rotationConfig(string(raw), "    - pkcs11:\n"+pkcs11YAML(tok, pin, "oidc-rs256", "        "))
	if err := os.WriteFile(setup.ConfigFile, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "check-config", "--config", setup.ConfigFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "oidc: keys[0]: option 'pkcs11'") || !strings.Contains(string(out), "make build-hsm") || !strings.Contains(string(out), "(line ") {
		t.Fatalf("check-config of the static build: %v\n%s", err, out)
	}
	out, err = exec.CommandContext(ctx, bin, "serve", "--config", setup.ConfigFile).CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "make build-hsm") {
		t.Fatalf("serve of the static build: %v\n%s", err, out)
	}
	t.Logf("check-config and serve of the static build:\n%s", out)
}

// TestKeysGenerateStateNextAndRetiredNotes: keys generate --state next
// prints the oidc.keys entries that begin a rotation (an unknown state is
// refused), and check-config notes a retired key past its retire_after
// and one without it, and refuses a key listed twice.
func TestKeysGenerateStateNextAndRetiredNotes(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"keys", "generate", "--dir", dir, "--state", "next"}, &out, &errOut); code != 0 {
		t.Fatalf("keys generate --state next: %d %s", code, errOut.String())
	}
	for _, want := range []string{"oidc:\n  keys:\n    - file: " + filepath.Join(dir, "signing-rs256.pem") + "\n      state: next\n", "signing-es256.pem\n      state: next\n"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("keys generate --state next printed:\n%s", out.String())
		}
	}
	if code := run(context.Background(), []string{"keys", "generate", "--out", filepath.Join(dir, "x.pem"), "--state", "retired"}, io.Discard, &errOut); code != 2 || !strings.Contains(errOut.String(), "--state is next or active") {
		t.Fatalf("--state retired: %d %s", code, errOut.String())
	}
	setup, err := demo.Prepare(t.TempDir(), demo.Ports{Public: freeAddr(t), CNS: freeAddr(t), Admin: freeAddr(t)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(setup.ConfigFile)
	rs, es := filepath.Join(dir, "signing-rs256.pem"), filepath.Join(dir, "signing-es256.pem")
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	old, _ := rotationKey(t, dir, "old")
	keys := "    - file: " + rs + "\n    - file: " + es + "\n      state: retired\n      retire_after: \"" + past + "\"\n    - file: " + old + "\n      state: retired\n"
	for _, c := range []struct {
		keys string
		want []string
	}{
		{keys, []string{"oidc.keys[1] (" + es + ") is past its retire_after", "oidc.keys[2] (" + old + ") is retired without retire_after"}},
		{keys + "    - file: " + rs + "\n      state: next\n", []string{"oidc: keys[3]: option 'file': the same key as oidc.keys[0]"}},
	} {
		if err := os.WriteFile(setup.ConfigFile, []byte(rotationConfig(string(raw), c.keys)), 0o644); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		run(context.Background(), []string{"check-config", "--config", setup.ConfigFile}, &out, &out)
		for _, want := range c.want {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("check-config lacks %q:\n%s", want, out.String())
			}
		}
	}
}
