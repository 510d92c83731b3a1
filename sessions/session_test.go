package sessions_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

func TestSessionLogValue(t *testing.T) {
	id := "ZmFrZS1zZXNzaW9uLWlkLWZvci10ZXN0aW5nLTEyMzQ1Ng"
	s := &sessions.Session{
		ID: id, IDHash: sessions.HashKey(id),
		FiscalCode: "RSSMRA85T10A562S", CardFingerprint: sessions.HashKey("card"),
		GivenName: "MARIO", FamilyName: "ROSSI", CardID: "6090000000912345",
		Participants: []sessions.Participant{{Protocol: "saml", ClientID: "https://sp.example.it", NameID: "RSSMRA85T10A562S"}},
	}
	for _, c := range []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"pointer", func(l *slog.Logger) { l.Info("login", "session", s) }},
		{"participant", func(l *slog.Logger) { l.Info("join", "participant", s.Participants[0]) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			c.log(slog.New(slog.NewJSONHandler(&buf, nil)))
			out := buf.String()
			for _, secret := range []string{id, "RSSMRA85T10A562S", "MARIO", "ROSSI", "6090000000912345"} {
				if strings.Contains(out, secret) {
					t.Errorf("log line holds %q: %s", secret, out)
				}
			}
			if c.name == "pointer" && (!strings.Contains(out, `"fiscal_code":"RSS************S"`) || !strings.Contains(out, s.IDHash[:16])) {
				t.Errorf("log line lacks the masked fiscal code or id hash: %s", out)
			}
		})
	}
	var nilSession *sessions.Session
	if got := nilSession.LogValue().String(); got != "<nil>" {
		t.Errorf("nil session logs %q", got)
	}
}

func TestSessionJSONOmitsID(t *testing.T) {
	s := &sessions.Session{ID: "secret-id", IDHash: "hash", FiscalCode: "RSSMRA85T10A562S", AMR: []string{"sc"}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret-id")) || bytes.Contains(b, []byte(`"hash"`)) {
		t.Fatalf("JSON holds the id or its hash: %s", b)
	}
	var back sessions.Session
	if err := json.Unmarshal(b, &back); err != nil || back.FiscalCode != s.FiscalCode || back.AMR[0] != "sc" {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
}

func TestExpired(t *testing.T) {
	start := time.Date(2031, 3, 14, 9, 30, 0, 0, time.UTC)
	s := &sessions.Session{FiscalCode: "X", CardFingerprint: sessions.HashKey("card")}
	if err := s.Start(start, 10*time.Minute, 15*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		at   time.Duration
		want string
	}{
		{"ok/before-idle", 10*time.Minute - time.Nanosecond, ""},
		{"fail/at-idle", 10 * time.Minute, sessions.CauseIdle},
		{"fail/at-absolute", 15 * time.Minute, sessions.CauseAbsolute},
		{"fail/past-both", time.Hour, sessions.CauseAbsolute},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.Expired(start.Add(c.at))
			var exp *sessions.ExpiredError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Expired = %v, want nil", err)
			case c.want != "" && (!errors.As(err, &exp) || exp.Cause != c.want || !errors.Is(fmt.Errorf("wrapped: %w", err), sessions.ErrExpired)):
				t.Fatalf("Expired = %v, want cause %s matching ErrExpired", err, c.want)
			}
		})
	}
}

func TestStartCapsIdleAtAbsolute(t *testing.T) {
	start := time.Date(2031, 3, 14, 9, 30, 0, 0, time.UTC)
	s := &sessions.Session{FiscalCode: "X", CardFingerprint: sessions.HashKey("card")}
	if err := s.Start(start, time.Hour, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !s.IdleDeadline.Equal(start.Add(time.Minute)) {
		t.Fatalf("IdleDeadline = %s, want the absolute deadline", s.IdleDeadline)
	}
}

func TestNewIDAndHashKey(t *testing.T) {
	if _, err := sessions.NewID(strings.NewReader("short")); err == nil {
		t.Fatal("NewID from 5 bytes: no error")
	}
	id, err := sessions.NewID(bytes.NewReader(make([]byte, sessions.IDBytes)))
	if err != nil || id != strings.Repeat("A", 43) {
		t.Fatalf("NewID(zeros) = %q, %v", id, err)
	}
	// SHA-256 of the empty string.
	if got := sessions.HashKey(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("HashKey(\"\") = %s", got)
	}
}
