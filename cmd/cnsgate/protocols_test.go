package main

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
)

// TestProtocolOptions: every setting of the oidc and saml sections reaches
// the protocol packages' Options, and the collaborators given stay.
func TestProtocolOptions(t *testing.T) {
	// A collaborator passed in is kept beside the settings.
	outbound := &http.Client{}
	o := config.OIDC{
		SigningKeys: []string{"a.pem", "b.pem"}, SubjectSalt: "salt",
		AccessTokenLifetime: config.Duration(time.Minute), IDTokenLifetime: config.Duration(2 * time.Minute),
		LogoutConfirmation: config.LogoutConfirmAlways, RefreshReuseGrace: config.Duration(3 * time.Second),
		Clients: []config.Client{{
			ID: "esenzioni", Name: "Esenzioni", Secret: "s3cret",
			RedirectURIs: []string{"https://rp/cb"}, PostLogoutRedirectURIs: []string{"https://rp/bye"},
			BackchannelLogoutURI: "https://rp/bc", AllowedOrigins: []string{"https://spa"}, TokenEndpointAuthMethod: config.AuthPrivateKeyJWT,
			JWKS: `{"keys":[]}`, JWKSURI: "https://rp/jwks", Scopes: []string{"openid"},
			SubjectType: config.SubjectPublic, HomeURL: "https://rp/", AccessTokenFormat: config.AccessTokenJWT,
		}},
	}
	gotO := oidcOptions(o, oidc.Options{HTTPClient: outbound})
	wantO := oidc.Options{
		SigningKeys: []string{"a.pem", "b.pem"}, SubjectSalt: []byte("salt"),
		AccessTokenLifetime: time.Minute, IDTokenLifetime: 2 * time.Minute, HTTPClient: outbound,
		LogoutConfirmation: oidc.ConfirmAlways, RefreshReuseGrace: 3 * time.Second,
		Clients: []oidc.Client{{
			ID: "esenzioni", Name: "Esenzioni", Secret: "s3cret",
			RedirectURIs: []string{"https://rp/cb"}, PostLogoutRedirectURIs: []string{"https://rp/bye"},
			BackchannelLogoutURI: "https://rp/bc", AllowedOrigins: []string{"https://spa"}, AuthMethod: oidc.AuthPrivateKeyJWT,
			JWKS: `{"keys":[]}`, JWKSURI: "https://rp/jwks", Scopes: []string{"openid"},
			SubjectType: oidc.SubjectPublic, JWTAccessTokens: true,
		}},
	}
	if !reflect.DeepEqual(gotO, wantO) {
		t.Errorf("oidcOptions:\n got %+v\nwant %+v", gotO, wantO)
	}
	// 0s in the file turns the refresh grace off; the package's zero is
	// its default.
	o.RefreshReuseGrace = 0
	if got := oidcOptions(o, oidc.Options{}).RefreshReuseGrace; got != oidc.NoRefreshReuseGrace {
		t.Errorf("refresh_reuse_grace 0s gives %v, want oidc.NoRefreshReuseGrace", got)
	}

	s := config.SAML{
		CertFile: "idp.crt", KeyFile: "idp.key", NameIDSalt: "salt",
		MetadataValidFor: config.Duration(90 * 24 * time.Hour), MetadataCacheDuration: config.Duration(6 * time.Hour),
		ServiceProviders: []config.ServiceProvider{{
			EntityID: "https://cms/sp", Name: "CMS", MetadataFile: "cms.xml", MetadataURL: "https://cms/md",
			MetadataSignerFile: "signer.crt", AttributeProfile: config.ProfileOID, NameIDFormat: config.NameIDTransient,
			HomeURL: "https://cms/", // require_signed_requests unset: true
		}},
	}
	gotS := samlOptions(s, saml.Options{HTTPClient: outbound})
	wantS := saml.Options{
		CertFile: "idp.crt", KeyFile: "idp.key", NameIDSalt: []byte("salt"), HTTPClient: outbound,
		MetadataValidFor: 90 * 24 * time.Hour, MetadataCacheDuration: 6 * time.Hour, NotBeforeSkew: -1,
		ServiceProviders: []saml.ServiceProvider{{
			EntityID: "https://cms/sp", MetadataFile: "cms.xml", MetadataURL: "https://cms/md",
			MetadataSignerFile: "signer.crt", AttributeProfile: saml.ProfileOID, NameIDFormat: saml.NameIDTransient,
			RequireSignedRequests: true,
		}},
	}
	if !reflect.DeepEqual(gotS, wantS) {
		t.Errorf("samlOptions:\n got %+v\nwant %+v", gotS, wantS)
	}
}
