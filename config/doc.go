// Package config owns cnsgate's configuration: the YAML schema, its defaults,
// the CNSGATE_* environment overlay, the *_file secrets and the validation
// that reports every problem at once. It reads files and the environment only
// through the Loader it is given, and it imports nothing of the project: the
// parts that use a setting (x509cns, sessions, idp, ...) receive plain values
// from cmd/cnsgate and never see this package.
//
// # Loading
//
// Load and Loader.Parse run these steps, in order, and collect the problems of
// every step before returning them together as a *ValidationError:
//
//  1. Decode the YAML document. Unknown keys are refused with their path and
//     line, and the nearest known key of that mapping when one is close
//     ("option 'amdin' is unknown; did you mean 'admin'?"); values of the
//     wrong type are refused in plain words ("must be an integer but it's
//     configured as 'lots'"). A line with a YAML syntax error is reported
//     and set aside, and the rest of the document is read without it (up
//     to 10 such lines), so that one run finds every problem. An empty
//     document is allowed.
//  2. Overlay the environment: every scalar, list and duration key has a
//     variable named CNSGATE_ + its upper-cased path with '_' between the
//     segments, for example CNSGATE_LISTEN_PUBLIC, CNSGATE_SESSIONS_REDIS_ADDRS
//     or CNSGATE_REVOCATION_OCSP_TIMEOUT. Lists are comma-separated. A variable
//     set to the empty string is ignored. The lists of structures
//     (oidc.clients, saml.service_providers) and the maps
//     (revocation.crl_urls) have no variable: configure them in the file.
//     EnvVars lists every variable.
//  3. Apply the defaults to every option left at its zero value. Zero
//     durations, sizes and empty lists therefore mean "the default". Booleans
//     whose default is true (trust.require_client_auth_eku) take it only when
//     the key is absent.
//  4. Resolve the secrets: an option X_file (sessions.redis.password_file,
//     registry.dsn_file, oidc.subject_salt_file, oidc.clients[].secret_file)
//     names a file whose content, less its trailing newlines, becomes the
//     sibling option X. admin.token_file (the admin API's bearer token) has
//     no inline sibling: the token is read into Admin.Token.
//     Setting both X and X_file is an error.
//  5. Validate (Config.Validate): syntax of URLs, addresses, CIDRs, OIDs and
//     enumerations, and the rules that tie options together.
//
// Every problem found after decoding carries the line of the option it
// names (or of its section) when the file sets it; ParseLenient also
// returns the configuration as far as it was read and the Lines of the
// document, for check-config to check the files it names and place their
// problems.
//
// Relative paths are relative to the working directory of the process, not
// to the configuration file. Files other than the *_file secrets (TLS
// certificates, CA directories, the trusted list, metadata, signing keys) are
// only checked for being named here; the parts that read them report whether
// they can, and cnsgate check-config reads them all.
//
// # Secrets
//
// Passwords, client secrets and the registry DSN have type Secret, whose
// String, GoString, MarshalYAML, MarshalJSON and LogValue print "[REDACTED]".
// Config.Redacted renders the effective configuration for check-config.
// Read a secret with its Value method.
//
// # Files
//
//	doc.go          this map
//	schema.go       Config and its sections: listen, tls, trust, revocation, proxy, sessions, registry, registration, login, audit, shutdown, limits, log, admin, web, operators
//	schema_rp.go    the relying parties: OIDC and its Clients, SAML and its ServiceProviders
//	values.go       the enumerations (revocation modes, stores, drivers, ...) and Duration
//	defaults.go     Default*, the defaults applied to unset options, the embedded example.yaml
//	example.yaml    the commented example configuration (Example)
//	load.go         Loader, Load, Parse: decoding and the steps above
//	walk.go         the YAML walk that refuses unknown keys and maps options to lines
//	lines.go        Lines (the line of every option), nearest-key suggestions, type errors in plain words
//	env.go          the CNSGATE_* overlay, EnvVars
//	secrets.go      Secret, the *_file secrets, Config.Redacted
//	validate.go     Config.Validate and the rules of every section but the relying parties
//	validate_rp.go  the rules of oidc and saml, and of each client and service provider
//	schema_keys.go  SigningKey (oidc.keys[]: file or pkcs11, state, retire_after), PKCS11Key, KeyState
//	validate_keys.go the rules of oidc.keys and of a pkcs11 key
//	validate_web.go the rules of web (time zone, footer links, help desk, logo)
//	schema_fed.go   Federation, TrustAnchor, TrustMark: the OpenID Federation 1.0 section
//	validate_fed.go the rules and defaults of federation
//	console.go      Console (console.origin, console.role) and its rules with listen.console
//	access.go       Audience; the rules of operators.roles and of each relying party's audience and required_roles
//	check.go        the shared checks (required, enumerations, URLs, addresses, CIDRs), ParseOID
//	errors.go       FieldError, ValidationError, the problems collector
package config
