package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"

	"github.com/cnsgate/cnsgate/demo"
	"github.com/cnsgate/cnsgate/x509cns/cnstest"
)

// hostileChain is a chain an unauthenticated client presents to the card
// listener to make the server work: the card of a workload of -hostile.
type hostileChain struct {
	name string
	cert tls.Certificate
}

// hostileChains are the -hostile workloads' chains, made with the demo
// CA's name: the review's 14 self-issued intermediates (refused by
// trust.max_intermediates before any signature check), and the worst an
// attacker can send within the default cap of 4, which costs one
// signature check per certificate (five) before it is refused.
func hostileChains(setup *demo.Setup) ([]hostileChain, error) {
	ca, err := demoCA(setup)
	if err != nil {
		return nil, err
	}
	var out []hostileChain
	for _, h := range []struct {
		name string
		n    int
	}{{"hostile-14-self-issued", 14}, {"hostile-4-within-cap", 4}} {
		card, err := ca.SelfIssuedChain(h.n, cnstest.CardOptions{})
		if err != nil {
			return nil, err
		}
		out = append(out, hostileChain{name: h.name, cert: card.TLSCertificate()})
	}
	return out, nil
}

// hostileWorkloads are the -hostile workloads of a target whose normal
// login is of: each operation a new mutual-TLS connection to /cns/login
// presenting the chain, which the server must refuse (403).
func (b *bench) hostileWorkloads(t *target, of, base *workload) []*workload {
	var out []*workload
	for _, h := range b.hostile {
		client := newTLSClient(b.check, &h.cert, true)
		u := "https://" + t.cns + "/cns/login"
		out = append(out, &workload{name: of.name + " " + h.name, kind: kindLogin, pid: of.pid, t: t, of: of, base: base,
			op: func(*worker) error { return refusedOp(client, u) }})
	}
	return out
}

// refusedOp is one hostile handshake and request: it succeeds when the
// server refuses the chain.
func refusedOp(client *http.Client, u string) error {
	resp, err := client.Get(u)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusForbidden {
		return fmt.Errorf("a hostile chain answered %d, want 403", resp.StatusCode)
	}
	return nil
}
