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

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

var _ Recorder = NopRecorder{}
