package esenzioni

import (
	"time"
)

// Exemption is one income-based exemption from the prescription charge
// (ticket sanitario) and whether the demo grants it to the citizen.
type Exemption struct {
	Code        string
	Description string
	Active      bool
	ValidUntil  time.Time // zero when not active
}

// incomeExemptions are the national income-based exemption codes.
var incomeExemptions = []Exemption{
	{Code: "E01", Description: "Cittadini di età inferiore a 6 anni e superiore a 65 anni, appartenenti a un nucleo familiare con reddito complessivo non superiore a 36.151,98 euro"},
	{Code: "E02", Description: "Disoccupati e loro familiari a carico, appartenenti a un nucleo familiare con reddito complessivo inferiore a 8.263,31 euro, incrementato fino a 11.362,05 euro in presenza del coniuge e di ulteriori 516,46 euro per ogni figlio a carico"},
	{Code: "E03", Description: "Titolari di assegno (ex pensione) sociale e loro familiari a carico"},
	{Code: "E04", Description: "Titolari di pensione al minimo di età superiore a 60 anni e loro familiari a carico, appartenenti a un nucleo familiare con reddito complessivo inferiore a 8.263,31 euro, incrementato fino a 11.362,05 euro in presenza del coniuge e di ulteriori 516,46 euro per ogni figlio a carico"},
}

// demoExemptions is the table shown to a citizen: every code, one of them
// active, chosen from the fiscal code so that a citizen always sees the
// same one. It is demonstration data, read from no register.
func demoExemptions(fiscalCode string, now time.Time) []Exemption {
	sum := 0
	for _, c := range fiscalCode {
		sum += int(c)
	}
	active := sum % len(incomeExemptions)
	// Income-based exemptions are self-declared and renewed each year by
	// 31 March.
	until := time.Date(now.Year()+1, time.March, 31, 0, 0, 0, 0, time.Local)
	out := make([]Exemption, len(incomeExemptions))
	copy(out, incomeExemptions)
	out[active].Active, out[active].ValidUntil = true, until
	return out
}
