package oidc

// Kinds and results counted by the Recorder (labels of
// cnsgate_tokens_issued_total and cnsgate_logout_notifications_total).
const (
	TokenID      = "id"
	TokenAccess  = "access"
	TokenRefresh = "refresh"

	NotificationBackchannel = "oidc_backchannel"
	ResultOK                = "ok"
	ResultFailed            = "failed"
)

// Recorder counts what the provider issues and sends; idp/metrics
// implements it with Prometheus. Every label comes from a bounded set: the
// kinds above and the configured client ids.
type Recorder interface {
	// TokenIssued counts one token of kind TokenID, TokenAccess or
	// TokenRefresh issued to client.
	TokenIssued(kind, client string)
	// LogoutNotification counts one back-channel logout, after its last
	// attempt: kind NotificationBackchannel, result ResultOK or ResultFailed.
	LogoutNotification(kind, result string)
}

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

// LogoutNotification implements Recorder.
func (NopRecorder) LogoutNotification(string, string) {}

var _ Recorder = NopRecorder{}
