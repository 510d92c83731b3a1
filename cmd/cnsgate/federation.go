package main

import (
	"fmt"
	"os"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/oidc"
	"github.com/cnsgate/cnsgate/idp/oidc/federation"
)

// newFederation builds the OpenID Federation leaf entity of the provider
// from the federation section; op returns the provider (built after the
// federation, whose ResolveClient it takes), read when the entity
// configuration is signed.
func newFederation(c config.Federation, d protocolDeps, op func() *oidc.Provider) (*federation.Federation, error) {
	o, err := federationOptions(c, os.ReadFile)
	if err != nil {
		return nil, err
	}
	o.ProviderMetadata = func() map[string]any { return op().Metadata() }
	o.ProviderKeys = func() jwk.Set { return op().PublicKeys() }
	o.HTTPClient, o.Recorder = d.outbound, d.fedRecorder
	o.Logger = d.logger.With("component", "federation")
	fed, err := federation.New(o)
	if err != nil {
		return nil, err
	}
	return fed, nil
}

// federationOptions reads the federation keys and the trust anchors' key
// files named by a loaded (defaulted and validated) federation section.
func federationOptions(c config.Federation, readFile func(string) ([]byte, error)) (federation.Options, error) {
	o := federation.Options{
		EntityID: c.EntityID, AuthorityHints: c.AuthorityHints, Lifetime: c.Lifetime.Std(),
		Profile: c.Profile, MaxChainLength: c.MaxChainLength, AllowPrivateAddresses: c.AllowPrivateAddresses,
		Entity: federation.Entity{OrganizationName: c.OrganizationName, Contacts: c.Contacts,
			HomepageURI: c.HomepageURI, PolicyURI: c.PolicyURI, LogoURI: c.LogoURI},
	}
	if o.Profile == "oidc" {
		o.Profile = ""
	}
	for i, f := range c.SigningKeys {
		data, err := readFile(f)
		if err != nil {
			return o, fmt.Errorf("federation: signing_keys[%d]: %w", i, err)
		}
		o.SigningKeys = append(o.SigningKeys, data)
	}
	for i, ta := range c.TrustAnchors {
		jwks := []byte(ta.JWKS)
		if ta.JWKSFile != "" {
			data, err := readFile(ta.JWKSFile)
			if err != nil {
				return o, fmt.Errorf("federation: trust_anchors[%d]: jwks_file: %w", i, err)
			}
			jwks = data
		}
		o.TrustAnchors = append(o.TrustAnchors, federation.TrustAnchor{EntityID: ta.EntityID, JWKS: jwks})
	}
	for _, tm := range c.TrustMarks {
		o.TrustMarks = append(o.TrustMarks, federation.TrustMark{Type: tm.Type, JWT: tm.TrustMark})
	}
	return o, nil
}

// checkFederation reads the federation keys and the trust anchors' key
// files, as serve will.
func (d *dryRun) checkFederation() {
	c := d.cfg.Federation
	for i, f := range c.SigningKeys {
		if f == "" {
			continue
		}
		path := fmt.Sprintf("federation.signing_keys[%d]", i)
		if data, ok := d.read(path, f); ok {
			if err := federation.CheckSigningKey(data); err != nil {
				d.problem(path, "'%s': %v", f, err)
			}
		}
	}
	for i, ta := range c.TrustAnchors {
		if ta.JWKSFile == "" {
			continue
		}
		path := fmt.Sprintf("federation.trust_anchors[%d].jwks_file", i)
		if data, ok := d.read(path, ta.JWKSFile); ok {
			if set, err := jwk.Parse(data); err != nil || set.Len() == 0 {
				d.problem(path, "'%s' is not a JWK Set: %v", ta.JWKSFile, err)
			}
		}
	}
}
