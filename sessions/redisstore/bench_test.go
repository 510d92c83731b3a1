package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
	"github.com/cnsgate/cnsgate/sessions/redisstore"
)

// BenchmarkStore measures Create and Get on the memory store and on a real
// Redis (skipped without one), side by side:
//
//	go test -run '^$' -bench Store -benchmem ./sessions/redisstore/
func BenchmarkStore(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) sessions.Store
	}{
		{"memory", func(b *testing.B) sessions.Store {
			m := sessions.NewMemory(sessions.MemoryOptions{})
			b.Cleanup(func() { m.Close() })
			return m
		}},
		{"redis", func(b *testing.B) sessions.Store {
			return newStore(b, testClient(b), redisstore.StoreOptions{})
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := be.open(b)
			ctx := context.Background()
			b.Run("Create", func(b *testing.B) {
				for b.Loop() {
					if _, err := st.Create(ctx, benchSession(), 15*time.Minute, 8*time.Hour); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Get", func(b *testing.B) {
				id, err := st.Create(ctx, benchSession(), 15*time.Minute, 8*time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				if err := st.AddParticipant(ctx, id, sessions.Participant{Protocol: sessions.ProtocolOIDC, ClientID: "esenzioni"}); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := st.Get(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// benchSession is a session as a login creates it, with a distinct citizen
// each time so that index sets stay small.
func benchSession() *sessions.Session {
	return &sessions.Session{
		FiscalCode:      randomCode()[:16],
		CardFingerprint: sessions.HashKey(randomCode()),
		Issuer:          "Regione Toscana - CA Cittadini",
		AuthTime:        time.Now(),
		AMR:             []string{"sc", "hwk", "pin", "mfa"},
		ACR:             "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
		GivenName:       "MARIO",
		FamilyName:      "ROSSI",
		Region:          "Toscana",
		CardID:          "6090000000912345",
		CardType:        "regional",
	}
}
