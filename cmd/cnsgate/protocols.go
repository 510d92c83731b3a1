package main

import (
	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/saml"
)

// oidcOptions returns o with the provider's settings taken from the oidc
// section of a loaded (defaulted and validated) configuration; o carries
// the collaborators (logger, recorder, HTTP client).
func oidcOptions(c config.OIDC, o oidc.Options) oidc.Options {
	o.SigningKeys = c.SigningKeys
	o.SubjectSalt = []byte(c.SubjectSalt.Value())
	o.AccessTokenLifetime = c.AccessTokenLifetime.Std()
	o.IDTokenLifetime = c.IDTokenLifetime.Std()
	o.Clients = make([]oidc.Client, 0, len(c.Clients))
	for _, cc := range c.Clients {
		o.Clients = append(o.Clients, oidc.Client{
			ID: cc.ID, Name: cc.Name, Secret: cc.Secret.Value(),
			RedirectURIs: cc.RedirectURIs, PostLogoutRedirectURIs: cc.PostLogoutRedirectURIs,
			BackchannelLogoutURI: cc.BackchannelLogoutURI,
			AuthMethod:           oidc.AuthMethod(cc.TokenEndpointAuthMethod),
			JWKS:                 cc.JWKS, JWKSURI: cc.JWKSURI,
			Scopes: cc.Scopes, SubjectType: oidc.SubjectType(cc.SubjectType),
		})
	}
	return o
}

// samlOptions returns o with the identity provider's settings taken from
// the saml section of a loaded (defaulted and validated) configuration; o
// carries the collaborators.
func samlOptions(c config.SAML, o saml.Options) saml.Options {
	o.CertFile, o.KeyFile = c.CertFile, c.KeyFile
	o.NameIDSalt = []byte(c.NameIDSalt.Value())
	o.ServiceProviders = make([]saml.ServiceProvider, 0, len(c.ServiceProviders))
	for _, sp := range c.ServiceProviders {
		o.ServiceProviders = append(o.ServiceProviders, saml.ServiceProvider{
			EntityID: sp.EntityID, MetadataFile: sp.MetadataFile, MetadataURL: sp.MetadataURL,
			MetadataSignerFile:    sp.MetadataSignerFile,
			AttributeProfile:      saml.AttributeProfile(sp.AttributeProfile),
			NameIDFormat:          saml.NameIDFormat(sp.NameIDFormat),
			RequireSignedRequests: sp.RequireSignedRequests,
		})
	}
	return o
}
