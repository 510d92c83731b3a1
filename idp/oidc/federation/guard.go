package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrPrivateAddress refuses a fetch that would reach a loopback, private,
// link-local or otherwise non-public address: a client_id is chosen by
// whoever calls /authorize, and must not make cnsgate probe its own
// network.
var ErrPrivateAddress = errors.New("federation: address is not public")

// guardedClient returns c with a transport whose connections are refused
// to non-public addresses, checked on the address actually dialled (after
// DNS), so that a name resolving to 127.0.0.1 is refused too.
func guardedClient(c *http.Client, timeout time.Duration) (*http.Client, error) {
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("federation: the HTTP client's transport is a %T, not an *http.Transport whose dialer can be guarded", t)
	}
	d := &net.Dialer{Timeout: timeout, Control: refuseNonPublic}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	out := *c
	out.Transport = tr
	return &out, nil
}

// refuseNonPublic is the dialer's Control: it sees the resolved address.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || cgnat.Contains(ip) {
		return fmt.Errorf("%w: %s", ErrPrivateAddress, ip)
	}
	return nil
}

// cgnat is the shared address space of RFC 6598.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")
