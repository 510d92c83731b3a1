package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// Validate checks the whole configuration and returns nil or a
// *ValidationError listing every problem, each prefixed with its path:
//
//	sessions: redis: option 'addrs' is required when store is 'redis'
//	oidc: clients[1]: option 'redirect_uris' is required
//
// It reads no file. Call it again after changing a loaded Config (flags of
// cnsgate demo, for instance).
func (c *Config) Validate() error {
	var p problems
	c.validateOrigins(&p)
	c.Listen.validate(&p)
	c.TLS.validate(&p)
	c.Trust.validate(&p)
	c.Revocation.validate(&p)
	c.Proxy.validate(&p)
	c.Sessions.validate(&p)
	c.Registry.validate(&p)
	c.Registration.validate(&p)
	c.OIDC.validate(&p)
	c.validateFederation(&p)
	c.SAML.validate(&p)
	c.Audit.validate(&p)
	c.Log.validate(&p)
	c.Shutdown.validate(&p)
	c.Limits.validate(&p)
	c.Web.validate(&p)
	c.validateAccess(&p)
	c.validateConsole(&p)
	return p.err()
}

func (c *Config) validateOrigins(p *problems) {
	var iss, cns *url.URL
	if required(p, "", "issuer", c.Issuer) {
		iss = absURL(p, "", "issuer", c.Issuer, urlRule{schemes: httpURL.schemes, noSlash: true})
		if iss != nil && iss.Scheme != "https" && !loopback(iss) {
			p.add("", "option 'issuer' must be an https URL unless the host is localhost or 127.0.0.1 but it's configured as '%s'", c.Issuer)
			iss = nil
		}
	}
	if required(p, "", "cns_origin", c.CNSOrigin) {
		cns = absURL(p, "", "cns_origin", c.CNSOrigin, urlRule{schemes: httpsURL.schemes, originOnly: true, noSlash: true})
	}
	if iss != nil && cns != nil && origin(iss) == origin(cns) {
		p.add("", "option 'cns_origin' must differ from the origin of 'issuer': the card listener needs an origin of its own")
	}
}

func (l Listen) validate(p *problems) {
	addrs := []struct{ key, addr string }{{"public", l.Public}, {"cns", l.CNS}, {"admin", l.Admin}}
	for i, a := range addrs {
		if !required(p, "listen", a.key, a.addr) || !hostPort(p, "listen", a.key, a.addr) {
			continue
		}
		for _, b := range addrs[:i] {
			if a.addr == b.addr {
				p.add("listen", "options '%s' and '%s' must be different addresses but both are '%s'", b.key, a.key, a.addr)
			}
		}
	}
}

func (t TLS) validate(p *problems) {
	required(p, "tls", "cert_file", t.CertFile)
	required(p, "tls", "key_file", t.KeyFile)
	oneOf(p, "tls", "cns_max_version", t.CNSMaxVersion, tlsVersions)
	if t.HSTSMaxAge < 0 || t.HSTSMaxAge.Std()%time.Second != 0 {
		p.add("tls", "option 'hsts_max_age' must be 0 (no header) or a positive whole number of seconds but it's configured as '%s'", t.HSTSMaxAge)
	}
}

func (t Trust) validate(p *problems) {
	if len(t.CADirs) == 0 && t.TSLFile == "" && t.TSLURL == "" {
		p.add("trust", "one of the options 'ca_dirs', 'tsl_file' or 'tsl_url' is required")
	}
	for i, d := range t.CADirs {
		if d == "" {
			p.add("trust", "option 'ca_dirs' has an empty item at index %d", i)
		}
	}
	existingDirs(p, "trust", "intermediate_dirs", t.IntermediateDirs)
	if t.TSLSignerFile != "" && t.TSLFile == "" && t.TSLURL == "" {
		p.add("trust", "option 'tsl_signer_file' is set but neither 'tsl_file' nor 'tsl_url' is")
	}
	t.validateTSLURL(p)
	for _, oid := range t.Policies {
		if !validOID(oid) {
			p.add("trust", "option 'policies' has an item '%s' that is not an object identifier such as '1.3.76.16.2.1'", oid)
		}
	}
	if t.MinRSABits < 1024 {
		p.add("trust", "option 'min_rsa_bits' must be at least 1024 but it's configured as '%d'", t.MinRSABits)
	}
	t.validateChainLimits(p)
}

// validateChainLimits checks the bounds of chain building.
func (t Trust) validateChainLimits(p *problems) {
	if t.MaxIntermediates < 1 || t.MaxIntermediates > MaxIntermediatesLimit {
		p.add("trust", "option 'max_intermediates' must be between 1 and %d but it's configured as '%d'", MaxIntermediatesLimit, t.MaxIntermediates)
	}
	if t.MaxSignatureChecks < MinSigChecksLimit || t.MaxSignatureChecks > MaxSigChecksLimit {
		p.add("trust", "option 'max_signature_checks' must be between %d and %d but it's configured as '%d'", MinSigChecksLimit, MaxSigChecksLimit, t.MaxSignatureChecks)
	}
}

// validateTSLURL checks the options of the fetched trusted list.
func (t Trust) validateTSLURL(p *problems) {
	const s = "trust"
	positive(p, s, "tsl_refresh", t.TSLRefresh)
	positive(p, s, "tsl_fetch_timeout", t.TSLFetchTimeout)
	if t.TSLMaxBytes <= 0 {
		p.add(s, "option 'tsl_max_bytes' must be positive but it's configured as '%d'", t.TSLMaxBytes)
	}
	if t.TSLURL == "" {
		if t.TSLCacheFile != "" {
			p.add(s, "option 'tsl_cache_file' is set but 'tsl_url' is not")
		}
		return
	}
	if u, err := url.Parse(t.TSLURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		p.add(s, "option 'tsl_url' must be an http(s) URL with a host and no credentials, such as 'https://eidas.agid.gov.it/TL/TSL-IT.xml', but it's configured as '%s'", t.TSLURL)
	}
	if t.TSLSignerFile == "" {
		p.add(s, "option 'tsl_signer_file' is required when 'tsl_url' is set: a list fetched from the network is trusted for its signature only")
	}
	if t.TSLCacheFile == "" {
		p.add(s, "option 'tsl_cache_file' is required when 'tsl_url' is set: the last good list must outlive a restart while the URL is down")
	} else if fi, err := os.Stat(filepath.Dir(t.TSLCacheFile)); err != nil || !fi.IsDir() {
		p.add(s, "option 'tsl_cache_file' names '%s', whose directory does not exist", t.TSLCacheFile)
	}
}

// existingDirs requires every item of a list option to name a directory
// that exists now.
func existingDirs(p *problems, section, key string, dirs []string) {
	for i, d := range dirs {
		switch fi, err := os.Stat(d); {
		case d == "":
			p.add(section, "option '%s' has an empty item at index %d", key, i)
		case err != nil:
			p.add(section, "option '%s' has an item '%s' that cannot be read: %v", key, d, errors.Unwrap(err))
		case !fi.IsDir():
			p.add(section, "option '%s' has an item '%s' that is not a directory", key, d)
		}
	}
}

func (r Revocation) validate(p *problems) {
	const s = "revocation"
	oneOf(p, s, "mode", r.Mode, revocationModes)
	oneOf(p, s, "failure", r.Failure, failurePolicies)
	oneOf(p, s, "follow_redirects", r.FollowRedirects, redirectPolicies)
	positive(p, s, "ocsp_timeout", r.OCSPTimeout)
	positive(p, s, "crl_grace", r.CRLGrace)
	positive(p, s, "crl_fetch_timeout", r.CRLFetchTimeout)
	if r.CRLMaxBytes <= 0 {
		p.add(s, "option 'crl_max_bytes' must be positive but it's configured as '%d'", r.CRLMaxBytes)
	}
	for i, f := range r.CRLFiles {
		if f == "" {
			p.add(s, "option 'crl_files' has an empty item at index %d", i)
		}
	}
	for _, issuer := range slices.Sorted(maps.Keys(r.CRLURLs)) {
		urls := r.CRLURLs[issuer]
		if issuer == "" {
			p.add(s, "option 'crl_urls' has an empty issuer")
		}
		if len(urls) == 0 {
			p.add(s, "option 'crl_urls' has no URL for issuer '%s'", issuer)
		}
		for _, u := range urls {
			absURL(p, s, "crl_urls", u, httpURL)
		}
	}
	if r.OCSPURL != "" {
		absURL(p, s, "ocsp_url", r.OCSPURL, httpURL)
	}
	if r.CacheDir != "" {
		if fi, err := os.Stat(r.CacheDir); err == nil && !fi.IsDir() {
			p.add(s, "option 'cache_dir' must be a directory but '%s' is not one", r.CacheDir)
		}
	}
}

func (x Proxy) validate(p *problems) {
	for _, cidr := range x.TrustedCIDRs {
		if !validCIDR(cidr) {
			p.add("proxy", "option 'trusted_cidrs' has an item '%s' that is not a CIDR such as '10.0.0.0/8'", cidr)
		}
	}
	switch {
	case x.Header != "":
		oneOf(p, "proxy", "header", x.Header, proxyHeaders)
	case len(x.TrustedCIDRs) > 0:
		p.add("proxy", "option 'header' is required when 'trusted_cidrs' is set")
	}
	if x.ForwardedHeader != "" {
		oneOf(p, "proxy", "forwarded_header", x.ForwardedHeader, forwardedHeaders)
	}
}

func (s Sessions) validate(p *problems) {
	oneOf(p, "sessions", "store", s.Store, sessionStores)
	idle := positive(p, "sessions", "idle_timeout", s.IdleTimeout)
	abs := positive(p, "sessions", "absolute_timeout", s.AbsoluteTimeout)
	if idle && abs && s.AbsoluteTimeout < s.IdleTimeout {
		p.add("sessions", "option 'absolute_timeout' must be at least 'idle_timeout' (%s) but it's configured as '%s'", s.IdleTimeout, s.AbsoluteTimeout)
	}
	s.Redis.validate(p, s.Store == StoreRedis)
}

func (r Redis) validate(p *problems, used bool) {
	const s = "sessions.redis"
	if used && len(r.Addrs) == 0 {
		p.add(s, "option 'addrs' is required when store is 'redis'")
	}
	for _, a := range r.Addrs {
		hostPort(p, s, "addrs", a)
	}
	if r.Mode != "" && !oneOf(p, s, "mode", r.Mode, redisModes) {
		return
	}
	mode := r.EffectiveMode()
	switch {
	case mode == RedisStandalone && len(r.Addrs) > 1:
		p.add(s, "option 'addrs' must hold one address when mode is 'standalone' but it holds %d", len(r.Addrs))
	case mode == RedisSentinel && r.MasterName == "":
		p.add(s, "option 'master_name' is required when mode is 'sentinel'")
	case mode != RedisSentinel && r.MasterName != "":
		p.add(s, "option 'master_name' is only for mode 'sentinel' but mode is '%s'", mode)
	}
	if r.DB < 0 {
		p.add(s, "option 'db' must not be negative but it's configured as '%d'", r.DB)
	} else if r.DB != 0 && mode == RedisCluster {
		p.add(s, "option 'db' must be 0 for a Redis Cluster (mode 'cluster', or several 'addrs' and no 'master_name') but it's configured as '%d'", r.DB)
	}
}

func (r Registry) validate(p *problems) {
	if !oneOf(p, "registry", "driver", r.Driver, registryDrivers) {
		return
	}
	if r.DSN == "" && r.DSNFile == "" {
		p.add("registry", "option 'dsn' is required when driver is '%s'", r.Driver)
	}
	positive(p, "registry", "timeout", r.Timeout)
	if r.MaxConns < 1 {
		p.add("registry", "option 'max_conns' must be at least 1 but it's configured as '%d'", r.MaxConns)
	}
	if r.MaxIdleConns < 1 || r.MaxIdleConns > r.MaxConns {
		p.add("registry", "option 'max_idle_conns' must be between 1 and 'max_conns' (%d) but it's configured as '%d'", r.MaxConns, r.MaxIdleConns)
	}
}

func (r Registration) validate(p *problems) {
	if oneOf(p, "registration", "mode", r.Mode, registrationModes) && r.Mode == RegistrationAllowlist && r.AllowlistFile == "" {
		p.add("registration", "option 'allowlist_file' is required when mode is 'allowlist'")
	}
	if !consentVersionRE.MatchString(r.ConsentVersion) {
		p.add("registration", "option 'consent_version' must be 1 to 64 letters, digits, '.', '-' or '_' but it's configured as '%s'", r.ConsentVersion)
	}
}

// consentVersionRE is the shape of registration.consent_version.
var consentVersionRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (a Audit) validate(p *problems) {
	oneOf(p, "audit", "sink", a.Sink, auditSinks)
	positive(p, "audit", "retention", a.Retention)
	positive(p, "audit", "checkpoint_interval", a.CheckpointInterval)
	a.Syslog.validate(p)
}

func (s AuditSyslog) validate(p *problems) {
	const sec = "audit: syslog"
	if s.Address != "" {
		if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			p.add(sec, "option 'address' must be host:port but it's configured as '%s'", s.Address)
		}
	}
	if !s.TLS && (s.CAFile != "" || s.ServerName != "") {
		p.add(sec, "options 'ca_file' and 'server_name' need 'tls: true'")
	}
	if s.Queue < 1 {
		p.add(sec, "option 'queue' must be at least 1 but it's configured as '%d'", s.Queue)
	}
}

func (s Shutdown) validate(p *problems) {
	if s.Drain < 0 {
		p.add("shutdown", "option 'drain' must not be negative but it's configured as '%s'", s.Drain)
	}
	positive(p, "shutdown", "timeout", s.Timeout)
}

func (l Limits) validate(p *problems) {
	for _, o := range []struct {
		key string
		v   int
	}{{"pending_max", l.PendingMax}, {"pending_per_ip_rate", l.PendingPerIPRate}, {"pending_per_ip_burst", l.PendingPerIPBurst}, {"tracked_ips", l.TrackedIPs}} {
		if o.v < 1 {
			p.add("limits", "option '%s' must be a positive number but it's configured as '%d'", o.key, o.v)
		}
	}
	if positive(p, "limits", "pending_ttl", l.PendingTTL) && l.PendingTTL.Std() > time.Hour {
		p.add("limits", "option 'pending_ttl' must be at most 1h but it's configured as '%s'", l.PendingTTL)
	}
}

func (l Log) validate(p *problems) {
	oneOf(p, "log", "level", l.Level, logLevels)
	oneOf(p, "log", "format", l.Format, logFormats)
}

// item names an element of a list option: "oidc.clients[1]".
func item(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
