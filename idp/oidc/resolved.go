package oidc

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// resolvedClients are the clients Options.ResolveClient returns, each
// built once per *Client it returns.
type resolvedClients struct {
	resolve func(ctx context.Context, id string) (*Client, error)
	keys    func() *keySet // the provider's current keys (they change on SIGHUP)
	mu      sync.Mutex
	built   map[string]resolvedClient
}

type resolvedClient struct {
	src *Client
	c   *client
}

func newResolvedClients(resolve func(context.Context, string) (*Client, error), keys func() *keySet) *resolvedClients {
	return &resolvedClients{resolve: resolve, keys: keys, built: map[string]resolvedClient{}}
}

// lookupClient returns the client of id: a configured one, or the one
// Options.ResolveClient resolves. The error is what the client may be
// told: ErrUnknownClient, or why its registration was refused.
func (p *Provider) lookupClient(ctx context.Context, id string) (*client, error) {
	if c := p.clients[id]; c != nil {
		return c, nil
	}
	r := p.resolver
	if r.resolve == nil || id == "" {
		return nil, ErrUnknownClient
	}
	src, err := r.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if src == nil || src.ID != id {
		return nil, fmt.Errorf("%w: resolved a client of another id", ErrBadClient)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.built[id]; ok && b.src == src {
		return b.c, nil
	}
	m, err := newClients([]Client{*src}, r.keys())
	if err != nil {
		return nil, err
	}
	r.built[id] = resolvedClient{src: src, c: m[id]}
	return m[id], nil
}

// client is lookupClient without the reason: nil when id is not a client.
func (p *Provider) client(ctx context.Context, id string) *client {
	c, err := p.lookupClient(ctx, id)
	if err != nil && !errors.Is(err, ErrUnknownClient) {
		p.logger.InfoContext(ctx, "client not resolved", "client_id", id, "err", err)
	}
	return c
}

// unknownClient describes a lookup failure to the client.
func unknownClient(err error) string {
	if errors.Is(err, ErrUnknownClient) {
		return "unknown client_id"
	}
	return "client_id not registered: " + err.Error()
}
