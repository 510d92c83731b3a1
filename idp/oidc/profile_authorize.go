package oidc

import (
	"fmt"
	"strings"
)

// ScopeOfflineAccess asks for a refresh token: a spid or cie client gets
// one only with it and prompt=consent; every other client always does.
const ScopeOfflineAccess = "offline_access"

// profileStep checks one rule of the Italian profiles on an authorization
// request; it returns the refusal and the reason counted.
type profileStep func(req *authRequest) (*oauthError, string)

// profileSteps are the rules, in order: a signed request object, state and
// nonce of at least 32 characters, the prompt values the rules allow.
var profileSteps = []profileStep{
	requireRequestObject,
	checkProfileState,
	checkProfileNonce,
	checkProfilePrompt,
}

// checkProfile applies the rules of a spid or cie client's profile to an
// authorization request, then notes what the request asks for that only
// these profiles honour: prompt=consent and offline_access.
func (p *Provider) checkProfile(c *client, req *authRequest) *oauthError {
	if !c.italian() {
		return nil
	}
	for _, step := range profileSteps {
		if err, reason := step(req); err != nil {
			p.countRefusal(c.id, reason)
			err.Description = c.profile + " profile: " + err.Description
			return err
		}
	}
	req.Consent = contains(req.Prompts, "consent")
	req.Offline = req.Consent && contains(req.Scopes, ScopeOfflineAccess)
	return nil
}

func requireRequestObject(req *authRequest) (*oauthError, string) {
	if !req.Signed {
		return newErr(errInvalidRequest, "the authorization request must be a signed request object (the request parameter)"), RefusalRequestMissing
	}
	return nil, ""
}

func checkProfileState(req *authRequest) (*oauthError, string) {
	if len(req.State) < minProfileRandom {
		return newErr(errInvalidRequest, fmt.Sprintf("state must be at least %d characters (%d sent)", minProfileRandom, len(req.State))), RefusalState
	}
	return nil, ""
}

func checkProfileNonce(req *authRequest) (*oauthError, string) {
	if len(req.Nonce) < minProfileRandom {
		return newErr(errInvalidRequest, fmt.Sprintf("nonce must be at least %d characters (%d sent)", minProfileRandom, len(req.Nonce))), RefusalNonce
	}
	return nil, ""
}

// checkProfilePrompt allows what the rules allow: consent, or consent
// login.
func checkProfilePrompt(req *authRequest) (*oauthError, string) {
	ok := contains(req.Prompts, "consent")
	for _, pr := range req.Prompts {
		ok = ok && (pr == "consent" || pr == "login")
	}
	if !ok {
		return newErr(errInvalidRequest, "prompt must be consent or \"consent login\" (\""+strings.Join(req.Prompts, " ")+"\" sent)"), RefusalPrompt
	}
	return nil, ""
}
