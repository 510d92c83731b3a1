package main

import (
	"reflect"
	"testing"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
	"github.com/cnsgate/cnsgate/x509cns"
	"github.com/cnsgate/cnsgate/x509cns/revocation"
)

// TestDefaultsAgree: config imports nothing of the project, so the
// defaults it documents for the YAML and the zero-value defaults of the
// packages it configures are written in both; cmd/cnsgate, which sees
// both, holds them to the same values.
func TestDefaultsAgree(t *testing.T) {
	def := config.Default()

	rev := revocationOptions(def.Revocation, nil, nil)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"revocation.mode", rev.Mode, revocation.DefaultMode},
		{"revocation.failure", rev.Failure, revocation.FailClosed},
		{"revocation.ocsp_timeout", rev.OCSPTimeout, revocation.DefaultOCSPTimeout},
		{"revocation.crl_grace", rev.CRLGrace, revocation.DefaultCRLGrace},
		{"revocation.crl_max_bytes", rev.CRLMaxBytes, int64(revocation.DefaultCRLMaxBytes)},
		{"revocation.crl_fetch_timeout", rev.CRLFetchTimeout, revocation.DefaultCRLFetchTimeout},
		{"oidc.access_token_lifetime", def.OIDC.AccessTokenLifetime.Std(), oidc.DefaultTokenLifetime},
		{"oidc.id_token_lifetime", def.OIDC.IDTokenLifetime.Std(), oidc.DefaultTokenLifetime},
		{"oidc.refresh_reuse_grace", def.OIDC.RefreshReuseGrace.Std(), oidc.DefaultRefreshReuseGrace},
		{"oidc.logout_confirmation", string(def.OIDC.LogoutConfirmation), string(oidc.ConfirmWithoutValidHint)},
		{"oidc.subject_salt length", config.MinSubjectSaltLength, oidc.MinSubjectSaltLength},
		{"saml.name_id_salt length", config.MinSubjectSaltLength, saml.MinNameIDSaltLength},
	} {
		if reflect.ValueOf(c.got).Convert(reflect.TypeOf(c.want)).Interface() != c.want {
			t.Errorf("%s: config gives %v, the package defaults to %v", c.name, c.got, c.want)
		}
	}

	policy, err := policyFromConfig(def.Trust)
	if err != nil {
		t.Fatal(err)
	}
	if want := x509cns.DefaultPolicy(); !reflect.DeepEqual(policy, want) {
		t.Errorf("trust: config gives %+v, x509cns.DefaultPolicy is %+v", policy, want)
	}
}
