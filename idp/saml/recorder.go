package saml

// Kinds and results counted by the Recorder (labels of
// cnsgate_tokens_issued_total and cnsgate_logout_notifications_total).
const (
	TokenAssertion   = "saml_assertion"
	NotificationSAML = "saml"
	ResultOK         = "ok"
	ResultFailed     = "failed"
)

// Recorder counts what the identity provider issues and sends; idp/metrics
// implements it with Prometheus. Every label comes from a bounded set: the
// kinds above and the configured SP entity ids.
type Recorder interface {
	// TokenIssued counts one assertion (kind TokenAssertion) issued to the
	// SP client.
	TokenIssued(kind, client string)
	// LogoutNotification counts one back-channel LogoutRequest after its
	// last attempt: kind NotificationSAML, result ResultOK or ResultFailed.
	LogoutNotification(kind, result string)
}

// NopRecorder records nothing.
type NopRecorder struct{}

// TokenIssued implements Recorder.
func (NopRecorder) TokenIssued(string, string) {}

// LogoutNotification implements Recorder.
func (NopRecorder) LogoutNotification(string, string) {}

var _ Recorder = NopRecorder{}
