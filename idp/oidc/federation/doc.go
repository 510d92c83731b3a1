// Package federation makes cnsgate's OpenID Provider a leaf entity of an
// OpenID Federation 1.0 (the federation of the Italian SPID and CIE id
// OpenID Connect rules): it serves the provider's entity configuration at
// /.well-known/openid-federation, signed with federation keys kept apart
// from the token signing keys, and it registers relying parties
// automatically: a client_id that is an https entity identifier, unknown
// to the configuration, becomes a client when its trust chain resolves to
// a configured trust anchor, with its policy-applied openid_relying_party
// metadata as its registration (oidc.Options.ResolveClient).
//
// A chain is walked upwards from the relying party's entity configuration
// through its authority_hints, each superior's entity configuration and
// the subordinate statement its federation_fetch_endpoint gives; every
// statement is verified with the keys of the entity above it, the trust
// anchor's with the keys configured for it. Fetches are bounded in time
// and size and follow no redirect; loops and chains longer than the cap
// are refused; the chain expires with its earliest statement, and the
// resolved client is cached until then. Every refusal says which
// statement broke and why.
//
// It imports oidc (for oidc.Client) and never config: cmd/cnsgate builds
// its Options from the federation section.
//
// # Files
//
//	doc.go         this map
//	federation.go  Options, TrustAnchor, TrustMark, Entity, Recorder, Federation, New, ResolveClient and its cache
//	entity.go      the federation keys, signing entity statements, the entity configuration and its endpoint
//	statement.go   fetching an entity statement (bounded, no redirects), verifying and checking it; entity identifiers
//	guard.go       the fetches' dialer: no loopback, private or link-local address (SSRF)
//	chain.go       Chain, Resolve: walking the authority hints to a trust anchor, the metadata of the chain
//	policy.go      Policy, MergePolicies, ApplyPolicy: the metadata policy operators and their merge rules
//	client.go      the resolved relying-party metadata as an oidc.Client
//
// The tests build a local federation on loopback (localfed_test.go) and
// run the provider with it (login_test.go; cielogin_test.go for a cie
// relying party, with the relying-party helpers of package oidctest);
// testdata/oidfed-core has the npm @openid-federation/core check of the
// entity configuration.
package federation
