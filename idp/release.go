package idp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/idp/web"
	"github.com/cnsgate/cnsgate/sessions"
)

// The data-release page (Options.ConfirmRelease): before a relying party
// first receives a citizen's data, the public origin lists what it will
// receive ("Il servizio riceverà …") with "Continua" and "Annulla". The
// agreement is kept in the registry per citizen and relying party, with the
// hash of the list of fields, so that a different list asks again.
// "Continua" records it and resumes the request; "Annulla" refuses it to
// the relying party (CancelFunc), as the login page's "Annulla" does.

// PathRelease is where the data-release page posts its choice.
const PathRelease = "/cns/release"

const nsRelease = "release" // TTL: Options.Limits.PendingTTL

// The fields a relying party may receive; each has its label
// ("field.<key>") in idp/web's texts.
const (
	FieldFiscalCode   = "cf"
	FieldGivenName    = "name"
	FieldFamilyName   = "surname"
	FieldCardID       = "card"
	FieldCardType     = "cardtype"
	FieldRegion       = "region"
	FieldRoles        = "roles"
	FieldOrganisation = "organisation"
)

// ReleaseField is one item a relying party is about to receive.
type ReleaseField struct {
	Key   string // a Field… constant
	Value string
}

// Release is what a protocol is about to release, and the pending request
// to resume (or cancel) once the citizen has chosen.
type Release struct {
	Kind   string // the ResumeFunc and CancelFunc
	Client string // OIDC client id or SAML SP entity id
	Data   json.RawMessage
	Fields []ReleaseField
	// Force shows the page whatever the switch and the citizen's earlier
	// agreement (OIDC prompt=consent of the Italian profiles); Data then
	// must not ask for it again.
	Force bool
}

// releaseRecord is a data-release page waiting for the citizen's choice.
type releaseRecord struct {
	Release
	Hash    string `json:"hash"`
	Session string `json:"session"` // the session's IDHash
	Lang    string `json:"lang,omitempty"`
}

// fieldsHash is the SHA-256 of the sorted, distinct keys of fields: the
// list, not the values, is what the citizen agrees to.
func fieldsHash(fields []ReleaseField) string {
	keys := make([]string, 0, len(fields))
	for _, f := range fields {
		keys = append(keys, f.Key)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:])
}

// ReleaseNeeded reports whether the data-release page must be shown before
// rel is released: the switch is on, there is something to release, and
// the citizen has not agreed to this list for this relying party.
func (s *Service) ReleaseNeeded(r *http.Request, sess *sessions.Session, rel Release) (bool, error) {
	switch {
	case len(rel.Fields) == 0:
		return false, nil
	case rel.Force:
		return true, nil
	case !s.opts.ConfirmRelease:
		return false, nil
	}
	ok, err := s.registry.ReleaseAgreed(r.Context(), sess.FiscalCode, rel.Client, fieldsHash(rel.Fields))
	return !ok, err
}

// ReleaseAgreed reports whether rel may be released now. When not, it has
// answered: the data-release page, or 503 when the registry is down.
func (s *Service) ReleaseAgreed(w http.ResponseWriter, r *http.Request, sess *sessions.Session, rel Release) bool {
	need, err := s.ReleaseNeeded(r, sess, rel)
	if err != nil {
		s.unavailable(w, r, "registry", err)
		return false
	}
	if need {
		s.askRelease(w, r, sess, rel)
	}
	return !need
}

func releaseBinding(sess *sessions.Session, id string) string {
	return "release|" + sess.IDHash + "|" + id
}

// askRelease stores the request and renders the data-release page.
func (s *Service) askRelease(w http.ResponseWriter, r *http.Request, sess *sessions.Session, rel Release) {
	id, err := s.newID()
	if err != nil {
		s.unavailable(w, r, "random", err)
		return
	}
	lang := web.LangFrom(r)
	raw, _ := json.Marshal(releaseRecord{Release: rel, Hash: fieldsHash(rel.Fields), Session: sess.IDHash, Lang: string(lang)})
	if err := s.ephemeral.Put(r.Context(), nsRelease, id, raw, s.opts.Limits.PendingTTL); err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	tok, err := s.issueCSRF(r.Context(), releaseBinding(sess, id))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return
	}
	name := rel.Client
	if rp := s.relyingParty(rel.Client); rp != nil && rp.Name != "" {
		name = rp.Name
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "release.html", page{Lang: lang, Title: lang.T("release.title"), Session: sess, LoggedIn: true,
		CSRF: tok, Req: id, LoginURL: s.opts.Issuer + PathRelease, Message: name, Fields: rel.Fields, ReleaseNote: releaseNote(rel)})
}

// releaseNote is the page's note: asked again only for other data, or,
// for a page the relying party asks for every time, that it does.
func releaseNote(rel Release) string {
	if rel.Force {
		return "release.note_always"
	}
	return "release.note"
}

// releaseChoice is POST /cns/release: "Continua" records the agreement and
// resumes the request, "Annulla" refuses it to the relying party.
func (s *Service) releaseChoice(w http.ResponseWriter, r *http.Request) {
	sess, rec, ok := s.releaseForm(w, r)
	if !ok {
		return
	}
	if rec.Lang != "" {
		r = r.WithContext(web.WithLang(r.Context(), web.Lang(rec.Lang)))
	}
	keys := make([]string, 0, len(rec.Fields))
	for _, f := range rec.Fields {
		keys = append(keys, f.Key)
	}
	detail, _ := json.Marshal(map[string]any{"fields": keys, "fields_hash": rec.Hash})
	ev := registry.Event{Kind: registry.KindRelease, Client: rec.Client, FiscalCode: sess.FiscalCode,
		CardSerial: sess.CardSerial, Issuer: sess.Issuer, SessionHash: sess.IDHash, Detail: detail}
	switch r.PostFormValue("choice") {
	case choiceContinue:
		if err := s.registry.AgreeRelease(r.Context(), sess.FiscalCode, rec.Client, rec.Hash, s.opts.Now()); err != nil {
			s.unavailable(w, r, "registry", err)
			return
		}
		ev.Outcome = registry.OutcomeSuccess
		s.Audit(r.Context(), ev)
		if fn := s.resumer(rec.Kind); fn != nil {
			fn(w, r, sess, rec.Data)
			return
		}
	case choiceCancel:
		ev.Outcome, ev.Reason = registry.OutcomeFailure, AccessCancelled
		s.Audit(r.Context(), ev)
		if s.canceller(rec.Kind) != nil {
			s.cancelled(w, r, PendingRequest{Kind: rec.Kind, Data: rec.Data, Client: rec.Client}, "data release refused (Annulla)")
			return
		}
	default:
		s.releaseRefused(w, r, "data-release form without a choice")
		return
	}
	s.releaseRefused(w, r, "data release of an unknown kind: "+rec.Kind)
}

// releaseForm checks the data-release form: this browser's live session,
// the public origin, the form's token, the stored page of this session
// (spent). When not ok it has answered.
func (s *Service) releaseForm(w http.ResponseWriter, r *http.Request) (*sessions.Session, *releaseRecord, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sess, err := s.CurrentSession(r)
	switch {
	case errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrExpired):
		s.releaseRefused(w, r, "data-release form without a live session")
		return nil, nil, false
	case err != nil:
		s.unavailable(w, r, "sessions", err)
		return nil, nil, false
	}
	if !sameOrigin(r, s.opts.Issuer) {
		s.releaseRefused(w, r, "cross-origin data-release post")
		return nil, nil, false
	}
	id := reqParam(r.PostFormValue("id"))
	valid, err := s.checkCSRF(r.Context(), r, releaseBinding(sess, id))
	if err != nil {
		s.unavailable(w, r, "sessions", err)
		return nil, nil, false
	}
	if !valid || id == "" {
		s.releaseRefused(w, r, "missing, forged or expired data-release token")
		return nil, nil, false
	}
	raw, err := s.ephemeral.Take(r.Context(), nsRelease, id)
	if err != nil {
		if isDomainErr(err) {
			s.releaseRefused(w, r, "data-release page unknown, expired or already answered")
		} else {
			s.unavailable(w, r, "sessions", err)
		}
		return nil, nil, false
	}
	var rec releaseRecord
	if json.Unmarshal(raw, &rec) != nil || rec.Session != sess.IDHash {
		s.releaseRefused(w, r, "data-release page of another session")
		return nil, nil, false
	}
	return sess, &rec, true
}

func (s *Service) releaseRefused(w http.ResponseWriter, r *http.Request, detail string) {
	s.logger.WarnContext(r.Context(), "data-release form refused", "detail", detail)
	s.audit(r, auditRecord{kind: registry.KindRelease, outcome: registry.OutcomeFailure, detail: detail})
	s.failPage(w, r, http.StatusForbidden, "error.title", "csrf.invalid", s.opts.Issuer+"/")
}
