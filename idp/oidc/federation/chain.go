package federation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// TypeRelyingParty is the entity type whose metadata a relying party's
// chain resolves (OpenID Federation 1.0, 5.1.2).
const TypeRelyingParty = "openid_relying_party"

// ErrChain wraps every reason a trust chain does not resolve.
var ErrChain = errors.New("federation: trust chain not resolved")

// Chain is a resolved trust chain from an entity to a configured trust
// anchor.
type Chain struct {
	Subject string
	Anchor  string
	// Statements are the compact JWSs, from the subject's entity
	// configuration up to the trust anchor's.
	Statements [][]byte
	// Expires is the earliest exp of the statements.
	Expires time.Time
	// Metadata is the subject's openid_relying_party metadata with the
	// chain's policies applied.
	Metadata map[string]any
}

// anchor is a configured trust anchor: its entity id and the keys that
// verify what it signs.
type anchor struct {
	id   string
	keys jwk.Set
}

// link is one step up the chain: the superior's subordinate statement about
// the entity below and the superior's own entity configuration.
type link struct {
	sub, conf *statement
}

// Resolve builds, verifies and resolves the trust chain of entity id up to
// one of the configured trust anchors (OpenID Federation 1.0, 10): the
// entity's configuration, verified with its own keys; for each authority
// hint, the superior's configuration and its subordinate statement about
// the entity, fetched from its federation_fetch_endpoint and verified with
// the superior's keys; the entity's configuration verified again with the
// keys its superior lists; and so on up to a trust anchor, whose statements
// are verified with the configured keys. Loops and chains longer than the
// cap are refused, and so is any expired statement; the metadata policies
// of the chain are merged from the anchor down and applied.
func (f *Federation) Resolve(ctx context.Context, id string) (*Chain, error) {
	if err := checkEntityID(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChain, err)
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	w := &walk{Federation: f, fetches: maxFetches}
	leaf, err := w.configuration(ctx, id, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChain, err)
	}
	links, anchorID, err := w.climb(ctx, leaf, map[string]bool{id: true}, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrChain, id, err)
	}
	md, err := resolveMetadata(leaf, links)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrChain, id, err)
	}
	ch := &Chain{Subject: id, Anchor: anchorID, Metadata: md, Statements: [][]byte{leaf.raw}, Expires: leaf.exp()}
	for _, l := range links {
		ch.Statements = append(ch.Statements, l.sub.raw)
		for _, s := range []*statement{l.sub, l.conf} {
			if s.exp().Before(ch.Expires) {
				ch.Expires = s.exp()
			}
		}
	}
	ch.Statements = append(ch.Statements, links[len(links)-1].conf.raw)
	return ch, nil
}

// A resolution is bounded: at most maxHints authority hints tried per
// entity, maxFetches fetches and resolveTimeout in all, whatever the
// entities met list.
const (
	maxHints       = 4
	maxFetches     = 24
	resolveTimeout = 20 * time.Second
)

// walk is one resolution: the federation and the fetches it has left.
type walk struct {
	*Federation
	fetches int
}

// get fetches u if the budget allows.
func (w *walk) get(ctx context.Context, u string) ([]byte, error) {
	if w.fetches <= 0 {
		return nil, fmt.Errorf("GET %s: more than %d fetches for one chain", u, maxFetches)
	}
	w.fetches--
	return w.fetch.get(ctx, u)
}

// configuration fetches and verifies entity id's entity configuration,
// with keys (a trust anchor's configured keys) or, when nil, its own.
func (w *walk) configuration(ctx context.Context, id string, keys jwk.Set) (*statement, error) {
	raw, err := w.get(ctx, configurationURL(id))
	if err != nil {
		return nil, fmt.Errorf("entity configuration of %s: %w", id, err)
	}
	s, err := w.fetch.parse(raw, keys, id, id)
	if err != nil {
		return nil, fmt.Errorf("entity configuration of %s: %w", id, err)
	}
	return s, nil
}

// climb finds, through one of the authority hints of the entity whose
// configuration is ec, a path to a trust anchor. seen holds the entities
// already on the path; depth counts the superiors below this one.
func (w *walk) climb(ctx context.Context, ec *statement, seen map[string]bool, depth int) ([]link, string, error) {
	if len(ec.AuthorityHints) == 0 {
		return nil, "", fmt.Errorf("%s has no authority_hints and is not a configured trust anchor", ec.Subject)
	}
	if len(ec.AuthorityHints) > maxHints {
		return nil, "", fmt.Errorf("%s lists %d authority_hints, at most %d are followed", ec.Subject, len(ec.AuthorityHints), maxHints)
	}
	var errs []error
	for _, hint := range ec.AuthorityHints {
		links, anchorID, err := w.viaSuperior(ctx, ec, hint, seen, depth)
		if err == nil {
			return links, anchorID, nil
		}
		errs = append(errs, err)
	}
	return nil, "", errors.Join(errs...)
}

// viaSuperior tries the path through superior hint.
func (w *walk) viaSuperior(ctx context.Context, ec *statement, hint string, seen map[string]bool, depth int) ([]link, string, error) {
	if seen[hint] {
		return nil, "", fmt.Errorf("loop: %s is already on the chain", hint)
	}
	ta := w.anchors[hint]
	// The chain would hold the leaf's configuration, depth+1 subordinate
	// statements and a trust anchor's configuration at least.
	if need := depth + 3; ta == nil && need+1 > w.maxChain || need > w.maxChain {
		return nil, "", fmt.Errorf("chain through %s is longer than %d statements", hint, w.maxChain)
	}
	if err := checkEntityID(hint); err != nil {
		return nil, "", fmt.Errorf("authority hint: %w", err)
	}
	var supKeys jwk.Set
	if ta != nil {
		supKeys = ta.keys
	}
	sup, err := w.configuration(ctx, hint, supKeys)
	if err != nil {
		return nil, "", err
	}
	if supKeys == nil {
		supKeys = sup.keys
	}
	sub, err := w.subordinate(ctx, sup, supKeys, ec.Subject)
	if err != nil {
		return nil, "", err
	}
	if err := verify(ec.raw, sub.keys); err != nil {
		return nil, "", fmt.Errorf("entity configuration of %s: not signed by a key %s lists for it: %w", ec.Subject, hint, err)
	}
	if err := pathLengthOK(sub, depth); err != nil {
		return nil, "", err
	}
	here := []link{{sub: sub, conf: sup}}
	if ta != nil {
		return here, hint, nil
	}
	next := maps.Clone(seen)
	next[hint] = true
	rest, anchorID, err := w.climb(ctx, sup, next, depth+1)
	if err != nil {
		return nil, "", fmt.Errorf("via %s: %w", hint, err)
	}
	return append(here, rest...), anchorID, nil
}

// subordinate fetches from the fetch endpoint of sup (an entity
// configuration) its statement about subject, verified with keys.
func (w *walk) subordinate(ctx context.Context, sup *statement, keys jwk.Set, subject string) (*statement, error) {
	endpoint := sup.fetchEndpoint()
	if endpoint == "" {
		return nil, fmt.Errorf("%s publishes no federation_fetch_endpoint", sup.Subject)
	}
	raw, err := w.get(ctx, fetchURL(endpoint, subject))
	if err != nil {
		return nil, fmt.Errorf("subordinate statement of %s about %s: %w", sup.Subject, subject, err)
	}
	sub, err := w.fetch.parse(raw, keys, sup.Subject, subject)
	if err != nil {
		return nil, fmt.Errorf("subordinate statement of %s about %s: %w", sup.Subject, subject, err)
	}
	if sub.keys == nil {
		return nil, fmt.Errorf("subordinate statement of %s about %s has no jwks", sup.Subject, subject)
	}
	return sub, nil
}

// pathLengthOK honours a subordinate statement's max_path_length: the
// number of intermediates allowed between its issuer and the leaf.
func pathLengthOK(sub *statement, depth int) error {
	if sub.Constraints == nil || sub.Constraints.MaxPathLength == nil {
		return nil
	}
	if max := *sub.Constraints.MaxPathLength; depth > max {
		return fmt.Errorf("%s allows %d intermediates below it, the chain has %d", sub.Issuer, max, depth)
	}
	return nil
}

// resolveMetadata applies the chain's policies to the leaf's relying-party
// metadata: its immediate superior's metadata claim first replaces the
// parameters it names, then the policies, merged from the trust anchor
// down, apply.
func resolveMetadata(leaf *statement, links []link) (map[string]any, error) {
	md := maps.Clone(leaf.Metadata[TypeRelyingParty])
	if md == nil {
		return nil, fmt.Errorf("entity configuration has no %s metadata", TypeRelyingParty)
	}
	maps.Copy(md, links[0].sub.Metadata[TypeRelyingParty])
	pol := Policy{}
	for i := len(links) - 1; i >= 0; i-- {
		var err error
		if pol, err = MergePolicies(pol, links[i].sub.MetadataPolicy[TypeRelyingParty], links[i].sub.MetadataPolicyCrit); err != nil {
			return nil, err
		}
	}
	return ApplyPolicy(pol, md)
}
