package revocation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// crlSource is one place an issuer's CRL comes from: an HTTP(S) URL or a
// file. Its validators belong to the last CRL taken from it, and are
// guarded by the issuer state's mutex.
type crlSource struct {
	url, path string
	validators
}

func (s *crlSource) String() string {
	if s.url != "" {
		return s.url
	}
	return s.path
}

// validators let the next fetch skip an unchanged CRL: ETag and
// Last-Modified for URLs, modification time and size for files.
type validators struct {
	etag, lastModified string
	modTime            time.Time
	size               int64
}

func (v validators) store(src *crlSource) {
	if src != nil {
		src.validators = v
	}
}

// readCRLFile reads and parses a CRL file within the size limit.
func (c *Checker) readCRLFile(path string) (*parsedCRL, validators, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, validators{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, validators{}, err
	}
	der, err := readBounded(f, c.opts.CRLMaxBytes, fi.Size())
	if err != nil {
		return nil, validators{}, fmt.Errorf("crl file %s: %w", path, err)
	}
	p, err := parseCRL(der)
	if err != nil {
		return nil, validators{}, fmt.Errorf("crl file %s: %w", path, err)
	}
	return p, validators{modTime: fi.ModTime(), size: fi.Size()}, nil
}

// loadFile re-reads a file source when it changed.
func (c *Checker) loadFile(st *issuerState, src *crlSource) error {
	fi, err := os.Stat(src.path)
	if err != nil {
		return fmt.Errorf("crl file: %w", err)
	}
	st.mu.Lock()
	unchanged := st.crl.Load() != nil && src.modTime.Equal(fi.ModTime()) && src.size == fi.Size()
	st.mu.Unlock()
	if unchanged {
		return nil
	}
	p, v, err := c.readCRLFile(src.path)
	if err != nil {
		return err
	}
	_, err = c.install(st, p, src, v)
	p = nil
	releaseInput(int(v.size))
	if err != nil {
		return fmt.Errorf("crl file %s: %w", src.path, err)
	}
	return nil
}

// fetchURL downloads a URL source with a conditional GET; a 304 keeps the
// cached CRL.
func (c *Checker) fetchURL(ctx context.Context, st *issuerState, src *crlSource) error {
	target, err := requestURL(src.url)
	if err != nil {
		return fmt.Errorf("crl: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("crl %s: %w", src.url, err)
	}
	st.mu.Lock()
	if st.crl.Load() != nil {
		if src.etag != "" {
			req.Header.Set("If-None-Match", src.etag)
		}
		if src.lastModified != "" {
			req.Header.Set("If-Modified-Since", src.lastModified)
		}
	}
	st.mu.Unlock()
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("crl %s: %w", src.url, httpFailure(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && req.Header.Get("If-None-Match")+req.Header.Get("If-Modified-Since") != "":
		return nil
	case resp.StatusCode >= 500:
		return fmt.Errorf("crl %s: %w", src.url, unreachable("HTTP %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("crl %s: %w: HTTP %d", src.url, ErrHTTPStatus, resp.StatusCode)
	}
	body, err := readBody(resp, c.opts.CRLMaxBytes)
	if err != nil {
		return fmt.Errorf("crl %s: %w", src.url, err)
	}
	v := validators{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	size := len(body)
	err = c.installFetched(st, src, v, body)
	body = nil
	releaseInput(size)
	if err != nil {
		return fmt.Errorf("crl %s: %w", src.url, err)
	}
	return nil
}

// readBody reads a CRL response within limit. A CRL refused for its size
// or its form is the server's doing; a failed read, the network's.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	body, err := readBounded(resp.Body, limit, resp.ContentLength)
	if err != nil && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
		err = unreachable("reading body: %v", err)
	}
	return body, err
}

// installFetched parses and installs a downloaded CRL, and saves it in the
// cache directory when it replaced the cached one.
func (c *Checker) installFetched(st *issuerState, src *crlSource, v validators, der []byte) error {
	p, err := parseCRL(der)
	if err != nil {
		return err
	}
	installed, err := c.install(st, p, src, v)
	if installed {
		c.persist(st, der)
	}
	return err
}

// refresh brings st's CRL up to date: every changed file, then the URLs in
// order until one answers. It succeeds when any source did, and schedules
// the next background refresh either way.
func (c *Checker) refresh(st *issuerState) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.CRLFetchTimeout)
	defer cancel()
	st.mu.Lock()
	sources := append([]*crlSource(nil), st.sources...)
	st.mu.Unlock()

	var errs []error
	ok, networkOnly := false, true
	note := func(err error) {
		if err == nil {
			ok = true
			return
		}
		errs = append(errs, err)
		networkOnly = networkOnly && errors.Is(err, ErrUnreachable)
	}
	for _, src := range sources {
		if src.path != "" {
			note(c.loadFile(st, src))
		}
	}
	for _, src := range sources {
		if src.url != "" {
			err := c.fetchURL(ctx, st, src)
			note(err)
			if err == nil {
				break
			}
		}
	}
	switch {
	case len(sources) == 0 && st.crl.Load() != nil:
		// A CRL from the cache directory, for an issuer no login has
		// named a distribution point of yet: kept until one does.
		note(nil)
	case len(sources) == 0:
		note(fmt.Errorf("crl of %q: %w: no distribution point, file or override", st.label, ErrNoSource))
		networkOnly = false
	}

	now := c.opts.Now()
	st.mu.Lock()
	defer st.mu.Unlock()
	if ok {
		st.failures, st.lastErr, st.retryAt = 0, nil, time.Time{}
		if cur := st.crl.Load(); cur != nil {
			if cur.nextUpdate.IsZero() {
				st.crl.Store(&cachedCRL{parsedCRL: cur.parsedCRL, source: cur.source, validUntil: now.Add(c.opts.CRLRefreshInterval)})
				cur = st.crl.Load()
			}
			st.due = c.nextDue(cur, now)
		}
		return nil
	}
	err := errors.Join(errs...)
	st.failures++
	backoff := min(time.Minute<<min(st.failures-1, 4), 15*time.Minute)
	st.lastErr, st.networkOnly = err, networkOnly
	st.retryAt = now.Add(loginRetry)
	st.due = now.Add(backoff - c.jitter(backoff/10))
	c.logFailure(st, err)
	return err
}

// loginRetry is how long logins answer from the last failure instead of
// refetching a CRL that could not be fetched.
const loginRetry = 30 * time.Second

// loadFileAtStart parses a configured file, remembers it under its issuer
// name, and installs it when the trust store knows a CA whose key verifies
// it. Otherwise it is loaded when a card of that issuer first logs in.
func (c *Checker) loadFileAtStart(path string) error {
	p, v, err := c.readCRLFile(path)
	if err != nil {
		return err
	}
	defer releaseInput(int(v.size))
	c.mu.Lock()
	c.files[string(p.rawIssuer)] = append(c.files[string(p.rawIssuer)], path)
	c.mu.Unlock()
	if c.opts.Issuers == nil {
		return nil
	}
	candidates := c.opts.Issuers.IssuersByName(p.rawIssuer, p.authKeyID)
	if len(candidates) == 0 {
		c.opts.Logger.Info("revocation: CRL file issuer not in the trust store; loaded on first use", "file", path, "issuer", p.issuerCN)
		return nil
	}
	for _, issuer := range candidates {
		st := c.state(issuer)
		st.mu.Lock()
		var src *crlSource
		for _, s := range st.sources {
			if s.path == path {
				src = s
			}
		}
		st.mu.Unlock()
		if src == nil { // the state existed before this file was known
			src = &crlSource{path: path}
			st.mu.Lock()
			st.sources = append(st.sources, src)
			st.mu.Unlock()
		}
		_, err := c.install(st, p, src, v)
		if errors.Is(err, ErrBadSignature) {
			continue
		}
		return err
	}
	return fmt.Errorf("crl file %s: %w: no trusted CA named %q verifies it", path, ErrBadSignature, p.issuerCN)
}
