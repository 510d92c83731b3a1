package sessions

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Protocols a relying party takes part in a session with.
const (
	ProtocolOIDC = "oidc"
	ProtocolSAML = "saml"
)

// Session is one citizen's login: who logged in, with which card, when, and
// which relying parties took part. It is JSON-serialisable; ID and IDHash are
// never serialised.
type Session struct {
	// ID is the bearer secret the cookie carries. Store.Create sets it; stores
	// never persist it. Get, Touch and Delete echo the id they were given;
	// records found through an index (ListByFiscalCode, DeleteBy...) leave it
	// empty.
	ID string `json:"-"`
	// IDHash is HashKey(ID): the store key, safe to log. Stores set it on
	// every record they return.
	IDHash string `json:"-"`

	FiscalCode      string `json:"fiscal_code"`
	CardFingerprint string `json:"card_fingerprint"` // SHA-256 of the card certificate DER, lower-case hex (x509cns.Fingerprint)
	CardSerial      string `json:"card_serial,omitempty"`
	Issuer          string `json:"issuer,omitempty"`
	// IssuerKeyID is the SubjectKeyId of the CA that issued the card,
	// lower-case hex, so that the card's serial is looked up in that CA's
	// CRL (serials are unique per issuer only). Empty in sessions stored
	// before it was kept: they are matched by Issuer, the CA's name.
	IssuerKeyID string    `json:"issuer_key_id,omitempty"`
	AuthTime    time.Time `json:"auth_time"`
	AMR         []string  `json:"amr,omitempty"`
	ACR         string    `json:"acr,omitempty"`
	Roles       []string  `json:"roles,omitempty"` // operator roles; empty for citizens
	// OrganisationID and OrganisationName are the operator's organisation
	// (e.g. the ASL's code and name), set with the roles.
	OrganisationID   string `json:"organisation_id,omitempty"`
	OrganisationName string `json:"organisation_name,omitempty"`
	GivenName        string `json:"given_name,omitempty"`
	FamilyName       string `json:"family_name,omitempty"`
	Region           string `json:"region,omitempty"`
	CardID           string `json:"card_id,omitempty"`
	CardType         string `json:"card_type,omitempty"`

	Participants []Participant `json:"participants,omitempty"`

	// Set by Store.Create (through Start) and Store.Touch.
	CreatedAt        time.Time     `json:"created_at"`
	LastSeen         time.Time     `json:"last_seen"`
	IdleTimeout      time.Duration `json:"idle_timeout"` // how far Touch moves IdleDeadline
	IdleDeadline     time.Time     `json:"idle_deadline"`
	AbsoluteDeadline time.Time     `json:"absolute_deadline"`
}

// Participant is a relying party that received an assertion in a session;
// logout tells each one.
type Participant struct {
	Protocol string `json:"protocol"`  // ProtocolOIDC or ProtocolSAML
	ClientID string `json:"client_id"` // OIDC client id or SAML SP entity id
	// SID is the OIDC "sid" claim or the SAML SessionIndex sent to the party.
	SID string `json:"sid,omitempty"`
	// NameID is the SAML NameID the SP received, for its LogoutRequest.
	NameID   string    `json:"name_id,omitempty"`
	JoinedAt time.Time `json:"joined_at"` // set by the store when zero
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	c.AMR = slices.Clone(s.AMR)
	c.Roles = slices.Clone(s.Roles)
	c.Participants = slices.Clone(s.Participants)
	return &c
}

// SortParticipants orders participants by JoinedAt, then protocol and client
// id, so that every store returns them in the same order.
func SortParticipants(ps []Participant) {
	slices.SortStableFunc(ps, func(a, b Participant) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt),
			strings.Compare(a.Protocol, b.Protocol),
			strings.Compare(a.ClientID, b.ClientID))
	})
}

// SortSessions orders sessions by creation time, then IDHash.
func SortSessions(ss []*Session) {
	slices.SortFunc(ss, func(a, b *Session) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.IDHash, b.IDHash))
	})
}

// LogValue logs a session without its ID or personal data beyond a masked
// fiscal code: the id hash (shortened), fiscal code, card, assurance,
// participants and deadlines.
func (s *Session) LogValue() slog.Value {
	if s == nil {
		return slog.StringValue("<nil>")
	}
	attrs := []slog.Attr{
		slog.String("id_hash", short(s.IDHash)),
		slog.String("fiscal_code", maskFiscalCode(s.FiscalCode)),
		slog.String("card_fingerprint", short(s.CardFingerprint)),
		slog.String("issuer", s.Issuer),
		slog.String("card_type", s.CardType),
		slog.String("acr", s.ACR),
		slog.Any("amr", s.AMR),
	}
	if len(s.Roles) > 0 {
		attrs = append(attrs, slog.Any("roles", s.Roles))
	}
	parties := make([]string, len(s.Participants))
	for i, p := range s.Participants {
		parties[i] = p.Protocol + ":" + p.ClientID
	}
	attrs = append(attrs,
		slog.Any("participants", parties),
		slog.Time("auth_time", s.AuthTime),
		slog.Time("idle_deadline", s.IdleDeadline),
		slog.Time("absolute_deadline", s.AbsoluteDeadline),
	)
	return slog.GroupValue(attrs...)
}

// LogValue logs a participant without its NameID, which may identify the
// citizen.
func (p Participant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("protocol", p.Protocol),
		slog.String("client_id", p.ClientID),
		slog.Time("joined_at", p.JoinedAt),
	)
}

// maskFiscalCode keeps the first three and last characters of a fiscal code
// ("RSSMRA80A01H501U" becomes "RSS************U"); the same rule as
// x509cns.MaskFiscalCode, which this package may not import.
func maskFiscalCode(s string) string {
	if len(s) < 5 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-4) + s[len(s)-1:]
}

// short keeps enough of a hex hash to correlate log lines.
func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
