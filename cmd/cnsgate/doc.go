// Command cnsgate is the TS-CNS authentication gateway and identity
// provider. This package only wires: it reads flags and configuration,
// builds the parts and starts the listeners.
//
// It maps config onto each part's own options (idp.Options, oidc.Options,
// saml.Options, revocation.Options, redisstore.Options) so that no other
// package reads config, and it owns what only a process has: the listeners
// and their TLS, signals (SIGTERM shuts down in order, SIGHUP reloads the
// trust store), the background loops, and the subcommands. Decisions about
// cards, sessions and protocols belong to the packages it builds; none is
// taken here.
//
// # Files
//
//	doc.go            this map
//	main.go           usage, signal context, the subcommand switch (run)
//	serve.go          cnsgate serve: logger, serve, the build and run sequence, SIGHUP reload, the trust swap
//	gateway.go        the gateway (one process's parts) and its named build steps
//	listeners.go      public, cns, admin (and console) listeners, the cns TLS config, outbound HTTP client
//	console.go        the security console: its built-in OIDC client, its handler, the in-process code exchange
//	pprof.go          CNSGATE_PPROF=1: Go's runtime profiles on the admin listener (/debug/pprof/)
//	shutdown.go       the ordered shutdown: readiness, drain, listeners, background, deliveries, stores
//	protocols.go      login, OIDC and SAML options and the pages' site (web.*) from the config; mounting the protocols
//	federation.go     the OpenID Federation part of serve: federation.* to the entity configuration and the client resolver
//	parts.go          session backend, registry opening, the relying parties' links and audiences, metric label sets
//	trust.go          the trust store and validator from the trust section
//	allowlist.go      registration.allowlist_file: read at start and on SIGHUP, bad rows reported with their line
//	tsl.go            trust.tsl_url: the syncer, its first list, its schedule, a new list swapped in, its metrics
//	revocation.go     revocation options, the front door's revocation gate, audited CRL failures
//	logoutwiring.go   the login service of administrative commands, with logout notifiers
//	adminenv.go       the administrative commands' shared steps: open the registry, take one argument, report an error; run a command group
//	registrations.go  cnsgate registrations import|list|revoke
//	audit.go          cnsgate audit query|verify
//	auditsink.go      the audit trail's syslog sink (audit.syslog), its TLS towards the collector
//	operators.go      cnsgate operators add|list|update|remove|import, on the configured registry, audited as cli:<user>
//	adminclient.go    the client of the running server's admin API (registrations revoke)
//	cli.go            --help for every command and subcommand, the usage of a command group
//	checkconfig.go    cnsgate check-config: every problem of the configuration, in line order
//	dryrun.go         check-config's dry run of serve: the files the configuration names, loaded
//	dryrun_keys.go    check-config's dry run of oidc.keys and saml.key_pkcs11/next_cert_file: keys opened, retired keys noted
//	inspect.go        cnsgate inspect: a card certificate's verdict and identity as JSON
//	keys.go           cnsgate keys generate (--state next: the oidc.keys entries of a rotation)
//	signingkeys.go    oidc.keys and saml.key_pkcs11 opened through idp/signer, the OIDC keys reloaded on SIGHUP
//	demo.go           cnsgate demo: flags, the demo run, the banner
//	demo_examples.go  the example relying parties served beside the demo
package main
