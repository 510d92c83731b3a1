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
	}
	got := accessesFrom(web.Italian, events, []ServiceLink{{ID: "esenzioni", Name: "Esenzioni da reddito"}})
	want := []struct{ service, outcome string }{
		{"Esenzioni da reddito", "Accesso riuscito"},
		{"https://unknown.example/sp", "Accesso riuscito"},
		{"Accesso con TS-CNS", "Accesso riuscito"},
		{"Accesso con TS-CNS", web.ReasonMessage(web.Italian, "revoked")},
	}
	for i, w := range want {
		if got[i].Service != w.service || got[i].Outcome != w.outcome {
			t.Errorf("line %d = %+v, want %+v", i, got[i], w)
		}
	}
}
