package main

import "testing"

// TestDemoRefusalKeepsTheService: a card refused on the way from a relying
// party offers "Riprova", which goes back to the card login of the same
// pending request; with the right card the browser ends at the relying
// party, not at cnsgate's own home page with the request lost.
func TestDemoRefusalKeepsTheService(t *testing.T) {
	d := startDemo(t)
	wrong := d.browser(t, "revoked")
	refused := d.loginAtRP(t, wrong)
	if refused.code != 403 {
		t.Fatalf("the revoked card got %d at %s", refused.code, refused.url)
	}
	mustContain(t, refused, "revocato", ">Riprova</a>")
	// Its "Annulla" refuses the request to the service (cancel.go).
	mustContain(t, refused, `href="`+d.cfg.Issuer+`/cns/cancel?req=`, ">Annulla e torna al servizio</a>")
	retry := field(t, hrefLoginRE, refused)
	if retry == d.cfg.CNSOrigin+"/cns/login" {
		t.Fatalf("Riprova lost the pending request: %s", retry)
	}

	// The citizen picks the right card in the same browser (its cookies).
	right := d.browser(t, "citizen")
	right.Jar = wrong.Jar
	back := fetch(t, right, "GET", retry, nil, "")
	if back.url.String() != d.rpURL+"/" {
		t.Fatalf("Riprova ended at %s (%d), want the relying party:\n%s", back.url, back.code, back.body)
	}
	citizen, _ := d.setup.Card("citizen")
	mustContain(t, back, citizen.FiscalCode, "Mario Rossi")
}
