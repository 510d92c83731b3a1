package oidc

import "github.com/cnsgate/cnsgate/idp"

// Kinds counted by the Recorder (labels of cnsgate_tokens_issued_total).
const (
	TokenID      = "id"
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// The kind and results of back-channel logout deliveries (labels of
// cnsgate_logout_notifications_total), which the login service's
// logout-delivery engine counts.
const (
	NotificationBackchannel = idp.DeliveryOIDCBackchannel
	ResultOK                = idp.DeliveryOK
	ResultFailed            = idp.DeliveryFailed
)

// Recorder counts what the provider issues; idp/metrics implements it with
// Prometheus. Every label comes from a bounded set: the kinds above and
// the configured client ids.
type Recorder interface {
	// TokenIssued counts one token of kind TokenID, TokenAccess or
	// TokenRefresh issued to client.
	TokenIssued(kind, client string)
}

// The outcomes of a refresh token presented again after its rotation
// (labels of cnsgate_refresh_token_reuse_total).
const (
	// ReuseGraced: within the grace window, by the same client; it got the
	// first use's answer.
	ReuseGraced = "graced"
	// ReuseRevoked: after the window or by another client; the family was
	// revoked.
	ReuseRevoked = "revoked"
)

// ReuseRecorder is a Recorder that also counts refresh-token reuse; found
// by type assertion.
type ReuseRecorder interface {
	// RefreshReused counts one reuse of a refresh token of client, with
	// outcome ReuseGraced or ReuseRevoked.
	RefreshReused(client, outcome string)
}

// The endpoints that answer browser applications (labels of
// cnsgate_cors_refused_total).
const (
	EndpointDiscovery  = "discovery"
	EndpointJWKS       = "jwks"
	EndpointToken      = "token"
	EndpointUserinfo   = "userinfo"
	EndpointRevoke     = "revoke"
	EndpointIntrospect = "introspect"
)

// CORSRecorder is a Recorder that also counts cross-origin requests
// refused (an origin no client allows, or a preflight for a method the
// endpoint does not take); found by type assertion.
type CORSRecorder interface {
	CORSRefused(endpoint string)
}

// countReuse counts a refresh-token reuse when the recorder can.
func (p *Provider) countReuse(client, outcome string) {
	if r, ok := p.recorder.(ReuseRecorder); ok {
		r.RefreshReused(client, outcome)
	}
}

// The reasons an authorization request is refused by the rules of a
// client's profile (labels of cnsgate_oidc_profile_refusals_total).
const (
	RefusalRequestObject  = "request_object"  // invalid request object (any client)
	RefusalRequestMissing = "request_missing" // spid or cie client without one
	RefusalState          = "state"           // state shorter than 32 characters
	RefusalNonce          = "nonce"           // nonce missing or shorter than 32 characters
	RefusalPrompt         = "prompt"          // prompt other than consent, login
	RefusalACR            = "acr"             // no requested acr_values level is met
)

// RefusalRecorder is a Recorder that also counts the authorization
// requests refused by the Italian profiles' rules and invalid request
// objects; found by type assertion.
type RefusalRecorder interface {
	ProfileRefused(client, reason string)
}

// countRefusal counts a refusal when the recorder can.
func (p *Provider) countRefusal(client, reason string) {
	if r, ok := p.recorder.(RefusalRecorder); ok {
		r.ProfileRefused(client, reason)
	}
}

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

var _ Recorder = NopRecorder{}
