package idp

import (
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
)

func TestAccessesFrom(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	events := []registry.Event{
		{At: at, Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, Client: "esenzioni"},
		{At: at, Kind: registry.KindTokenIssued, Outcome: registry.OutcomeSuccess, Client: "https://unknown.example/sp"},
		{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess},
		{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "revoked"},
		// The card's visit before its registration: not a failed access.
		{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "not_registered"},
		{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeFailure, Reason: "expired"},
		{At: at, Kind: registry.KindLogin, Outcome: registry.OutcomeSuccess},
	}
	got := accessesFrom(web.Italian, events, []ServiceLink{{ID: "esenzioni", Name: "Esenzioni da reddito"}}, 5)
	want := []struct{ service, outcome, detail string }{
		{"Esenzioni da reddito", "Accesso riuscito", ""},
		{"https://unknown.example/sp", "Accesso riuscito", ""},
		{"Accesso con TS-CNS", "Accesso riuscito", ""},
		{"Accesso con TS-CNS", "Accesso non riuscito", web.ReasonMessage(web.Italian, "revoked")},
		{"Accesso con TS-CNS", "Accesso non riuscito", web.ReasonMessage(web.Italian, "expired")},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Service != w.service || got[i].Outcome != w.outcome || got[i].Detail != w.detail || !got[i].At.Equal(at) {
			t.Errorf("line %d = %+v, want %+v", i, got[i], w)
		}
	}
}
