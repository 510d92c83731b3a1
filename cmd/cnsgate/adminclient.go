package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cnsgate/cnsgate/config"
	"github.com/cnsgate/cnsgate/idp/registry"
)

// errNoServer reports that nothing answers on the admin listener: no
// server is running with this configuration.
var errNoServer = errors.New("no server is running")

// adminClient calls the admin API of the server running with the same
// configuration (idp.Service.AdminAPI), on its admin listener.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func newAdminClient(cfg *config.Config) *adminClient {
	return &adminClient{base: adminBaseURL(cfg.Listen.Admin), token: cfg.Admin.Token.Value(),
		http: &http.Client{Timeout: 30 * time.Second}}
}

// adminBaseURL is the URL of the admin listener: a wildcard host is
// reached on loopback.
func adminBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// revokeResult is the admin API's answer to a revoke.
type revokeResult struct {
	Revoked       int `json:"revoked"`
	SessionsEnded int `json:"sessions_ended"`
}

// revoke asks the running server to revoke the citizen's registrations
// and end their sessions. It returns errNoServer when none answers and
// registry.ErrNotRegistered when there was nothing to revoke.
func (c *adminClient) revoke(ctx context.Context, fiscalCode string) (revokeResult, error) {
	var res revokeResult
	body, _ := json.Marshal(map[string]string{"fiscal_code": fiscalCode})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/admin/registrations/revoke", bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return res, fmt.Errorf("%w at %s", errNoServer, c.base)
		}
		return res, fmt.Errorf("admin API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(raw, &res); err != nil {
			return res, fmt.Errorf("admin API at %s: %w", c.base, err)
		}
		return res, nil
	case http.StatusNotFound:
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error == "not_registered" {
			return res, registry.ErrNotRegistered
		}
	}
	var e struct{ Error, Detail string }
	_ = json.Unmarshal(raw, &e)
	return res, fmt.Errorf("admin API at %s answered %s: %s %s", c.base, resp.Status, e.Error, e.Detail)
}
