package redisstore

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cnsgate/cnsgate/sessions"
)

// Fields of the session hash (see doc.go). Every name is one letter and
// every value a short string, so that Redis keeps a login's hash in its
// compact listpack encoding (values of at most 64 bytes).
const (
	fFiscal       = "f"
	fCard         = "c"
	fSerial       = "n"
	fIssuer       = "u"
	fIssuerKey    = "k"
	fAuthTime     = "t" // unix ns
	fAMR          = "m" // JSON array
	fACR          = "q"
	fRoles        = "r" // JSON array
	fOrgID        = "o"
	fOrgName      = "O"
	fGiven        = "g"
	fFamily       = "F"
	fRegion       = "R"
	fCardID       = "d"
	fCardType     = "y"
	fCreated      = "C" // unix ns
	fSeen         = "s" // unix ms
	fIdle         = "i" // unix ms
	fAbsolute     = "a" // unix ms
	fIdleTO       = "l" // ms
	participantAt = "p:"
)

// stringFields are the text fields of the record, written only when set.
func stringFields(s *sessions.Session) []struct {
	name string
	val  *string
} {
	return []struct {
		name string
		val  *string
	}{
		{fFiscal, &s.FiscalCode}, {fCard, &s.CardFingerprint}, {fSerial, &s.CardSerial},
		{fIssuer, &s.Issuer}, {fIssuerKey, &s.IssuerKeyID}, {fACR, &s.ACR},
		{fOrgID, &s.OrganisationID}, {fOrgName, &s.OrganisationName}, {fGiven, &s.GivenName},
		{fFamily, &s.FamilyName}, {fRegion, &s.Region}, {fCardID, &s.CardID}, {fCardType, &s.CardType},
	}
}

// hexMark starts a text field stored as the bytes its lower-case hex
// digits stand for (card fingerprint, serial, issuer key id: half the
// bytes). No text a login records starts with a NUL.
const hexMark = "\x00"

// packHex returns v as hexMark and its bytes when v is lower-case hex of
// even length, and v itself otherwise.
func packHex(v string) string {
	b, err := hex.DecodeString(v)
	if err != nil || hex.EncodeToString(b) != v {
		return v
	}
	return hexMark + string(b)
}

// unpackHex is the inverse of packHex.
func unpackHex(v string) string {
	if rest, ok := strings.CutPrefix(v, hexMark); ok {
		return hex.EncodeToString([]byte(rest))
	}
	return v
}

// knownMark stands for the one value nearly every session has in a field
// (knownValues): the ACR and AMR of a card login, 51 and 24 bytes each. No
// text a login records starts with this byte.
const knownMark = "\x01"

// knownValues are the values knownMark stands for, by field; the AMR as
// its JSON.
var knownValues = map[string]string{
	fACR: "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI",
	fAMR: `["sc","hwk","pin","mfa"]`,
}

// packKnown returns knownMark for the known value of field, v otherwise.
func packKnown(field, v string) string {
	if k, ok := knownValues[field]; ok && v == k {
		return knownMark
	}
	return v
}

// unpackKnown is the inverse of packKnown.
func unpackKnown(field, v string) string {
	if v == knownMark {
		if k, ok := knownValues[field]; ok {
			return k
		}
	}
	return v
}

// encode turns a started session into the fields of its hash, as
// alternating names and values for HSET.
func encode(s *sessions.Session) ([]any, error) {
	f := make([]any, 0, 48)
	for _, sf := range stringFields(s) {
		if *sf.val != "" {
			f = append(f, sf.name, packHex(packKnown(sf.name, *sf.val)))
		}
	}
	for _, l := range []struct {
		name string
		val  []string
	}{{fAMR, s.AMR}, {fRoles, s.Roles}} {
		if len(l.val) > 0 {
			b, err := json.Marshal(l.val)
			if err != nil {
				return nil, fmt.Errorf("sessions: redis: encoding session: %w", err)
			}
			f = append(f, l.name, packKnown(l.name, string(b)))
		}
	}
	f = append(f,
		fAuthTime, s.AuthTime.UnixNano(), fCreated, s.CreatedAt.UnixNano(),
		fSeen, s.LastSeen.UnixMilli(), fIdle, s.IdleDeadline.UnixMilli(),
		fAbsolute, s.AbsoluteDeadline.UnixMilli(), fIdleTO, s.IdleTimeout.Milliseconds())
	seen := map[string]bool{}
	for _, p := range s.Participants {
		field, val, err := encodeParticipant(p)
		if err != nil {
			return nil, err
		}
		if !seen[field] { // the first record of a party wins
			seen[field] = true
			f = append(f, field, val)
		}
	}
	return f, nil
}

// encodeParticipant returns the hash field and value of a participant: the
// field names the protocol and client, so HSETNX keeps one per party; the
// value is the JSON array [joined unix ns, sid, name id].
func encodeParticipant(p sessions.Participant) (string, []byte, error) {
	b, err := json.Marshal([]any{p.JoinedAt.UnixNano(), p.SID, p.NameID})
	if err != nil {
		return "", nil, fmt.Errorf("sessions: redis: encoding participant: %w", err)
	}
	return participantAt + p.Protocol + " " + p.ClientID, b, nil
}

// decodeParticipant reads a participant field in either format: the array
// written now, or the JSON object of records stored before.
func decodeParticipant(field, val string) (sessions.Participant, error) {
	var p sessions.Participant
	if strings.HasPrefix(val, "{") {
		err := json.Unmarshal([]byte(val), &p)
		return p, err
	}
	var a []json.RawMessage
	if err := json.Unmarshal([]byte(val), &a); err != nil {
		return p, err
	}
	if len(a) != 3 {
		return p, fmt.Errorf("%d elements, want 3", len(a))
	}
	var joined int64
	for i, dst := range []any{&joined, &p.SID, &p.NameID} {
		if err := json.Unmarshal(a[i], dst); err != nil {
			return p, err
		}
	}
	p.Protocol, p.ClientID, _ = strings.Cut(strings.TrimPrefix(field, participantAt), " ")
	p.JoinedAt = time.Unix(0, joined).UTC()
	return p, nil
}

// decode rebuilds a session from its hash; hash is its IDHash. A record
// stored in the earlier format (a "rec" field holding JSON) is decoded too.
func decode(hash string, m map[string]string) (*sessions.Session, error) {
	corrupt := func(what string, err error) error {
		return fmt.Errorf("sessions: redis: session %.16s: bad %s: %v", hash, what, err)
	}
	var s *sessions.Session
	var err error
	if _, old := m[legacyRecord]; old {
		s, err = decodeLegacy(m, corrupt)
	} else {
		s, err = decodeCompact(m, corrupt)
	}
	if err != nil {
		return nil, err
	}
	for field, val := range m {
		if !strings.HasPrefix(field, participantAt) {
			continue
		}
		p, err := decodeParticipant(field, val)
		if err != nil {
			return nil, corrupt("participant", err)
		}
		s.Participants = append(s.Participants, p)
	}
	sessions.SortParticipants(s.Participants)
	s.IDHash = hash
	return s, nil
}

// decodeCompact reads the one-letter fields.
func decodeCompact(m map[string]string, corrupt func(string, error) error) (*sessions.Session, error) {
	var s sessions.Session
	if m[fFiscal] == "" {
		return nil, corrupt(fFiscal, fmt.Errorf("no fiscal code"))
	}
	for _, sf := range stringFields(&s) {
		*sf.val = unpackKnown(sf.name, unpackHex(m[sf.name]))
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{fAMR, &s.AMR}, {fRoles, &s.Roles}} {
		if v, ok := m[l.name]; ok {
			if err := json.Unmarshal([]byte(unpackKnown(l.name, v)), l.dst); err != nil {
				return nil, corrupt(l.name, err)
			}
		}
	}
	for _, f := range []struct {
		name string
		set  func(int64)
	}{
		{fAuthTime, func(v int64) { s.AuthTime = time.Unix(0, v).UTC() }},
		{fCreated, func(v int64) { s.CreatedAt = time.Unix(0, v).UTC() }},
		{fSeen, func(v int64) { s.LastSeen = time.UnixMilli(v).UTC() }},
		{fIdle, func(v int64) { s.IdleDeadline = time.UnixMilli(v).UTC() }},
		{fAbsolute, func(v int64) { s.AbsoluteDeadline = time.UnixMilli(v).UTC() }},
		{fIdleTO, func(v int64) { s.IdleTimeout = time.Duration(v) * time.Millisecond }},
	} {
		v, err := strconv.ParseInt(m[f.name], 10, 64)
		if err != nil {
			return nil, corrupt(f.name, err)
		}
		f.set(v)
	}
	return &s, nil
}
