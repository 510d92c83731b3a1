package idp

import (
	"errors"
	"net/http"

	"github.com/cnsgate/cnsgate/idp/registry"
	"github.com/cnsgate/cnsgate/x509cns"
)

// HandoffRecorder is the optional ability of a Recorder to count the
// handoff codes refused at /cns/complete as unknown, expired or already
// used: a replayed link, a code past its 30 seconds, or a made-up one.
type HandoffRecorder interface {
	HandoffRefused()
}

// ReasonHandoffInvalid is the reason of a refused handoff code in the
// audit trail (kind "handoff"). It is not a card's refusal: the card was
// judged when the code was issued.
const ReasonHandoffInvalid = "invalid_code"

// handoffRefused logs, counts and audits a handoff code that cannot be
// redeemed. The code is single use and short lived, so nothing else is
// known of it: the audit event names the client's address and request.
func (s *Service) handoffRefused(r *http.Request, err error) {
	why := "unknown, expired or already used"
	if errors.Is(err, errNoCode) {
		why = "no code"
	} else if err == nil {
		why = "a record without a session"
	}
	s.logger.WarnContext(r.Context(), "handoff code refused", "reason", why)
	if rec, ok := s.recorder.(HandoffRecorder); ok {
		rec.HandoffRefused()
	}
	s.audit(r, auditRecord{kind: registry.KindHandoff, outcome: registry.OutcomeFailure,
		reason: x509cns.Reason(ReasonHandoffInvalid), detail: why})
}
