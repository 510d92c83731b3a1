package auditsyslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/cnsgate/cnsgate/idp/registry"
)

// Defaults of a Sink.
const (
	DefaultQueue        = 10000
	DefaultFacility     = 13 // log audit (RFC 5424 §6.2.1)
	DefaultDialTimeout  = 5 * time.Second
	DefaultWriteTimeout = 5 * time.Second
	DefaultRetryMin     = 100 * time.Millisecond
	DefaultRetryMax     = 30 * time.Second
)

// Config configures a Sink (config audit.syslog).
type Config struct {
	Address          string      // host:port of the collector
	TLS              *tls.Config // nil: plain TCP
	Queue            int         // events waiting at most (DefaultQueue)
	Facility         int         // DefaultFacility when 0
	Hostname, App    string      // HOSTNAME and APP-NAME (os.Hostname(), "cnsgate")
	DialTimeout      time.Duration
	WriteTimeout     time.Duration
	RetryMin         time.Duration // first back-off after a failure
	RetryMax         time.Duration // longest back-off
	RevealFiscalCode bool          // fiscal codes in full (config audit.reveal_fiscal_code)
}

// Observer is told of the queue and of what was sent or dropped;
// idp/metrics implements it.
type Observer interface {
	SyslogQueueDepth(n int)
	SyslogSent()
	SyslogDropped()
}

// Sink sends audit events to a syslog collector; see the package comment.
type Sink struct {
	cfg    Config
	obs    Observer
	log    *slog.Logger
	pid    int
	queue  chan registry.Event
	quit   chan struct{}
	done   chan struct{}
	closed sync.Once
	conn   net.Conn
	last   time.Time // the last write on conn
	dial   func(ctx context.Context) (net.Conn, error)
}

// New starts a Sink; stop it with Close.
func New(cfg Config, obs Observer, logger *slog.Logger) (*Sink, error) {
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("audit syslog: address %q: %w", cfg.Address, err)
	}
	defaults(&cfg)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sink{cfg: cfg, obs: obs, log: logger, pid: os.Getpid(), queue: make(chan registry.Event, cfg.Queue),
		quit: make(chan struct{}), done: make(chan struct{})}
	s.dial = s.dialCollector
	go s.loop()
	return s, nil
}

func defaults(c *Config) {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.DialTimeout, DefaultDialTimeout)
	set(&c.WriteTimeout, DefaultWriteTimeout)
	set(&c.RetryMin, DefaultRetryMin)
	set(&c.RetryMax, DefaultRetryMax)
	if c.Queue <= 0 {
		c.Queue = DefaultQueue
	}
	if c.Facility == 0 {
		c.Facility = DefaultFacility
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.App == "" {
		c.App = "cnsgate"
	}
}

// Send queues e and returns at once. A full queue drops e, counted and
// logged: the request that audits never waits for the collector.
func (s *Sink) Send(e registry.Event) {
	select {
	case s.queue <- e:
		s.depth()
	default:
		s.dropped(e, "queue full")
	}
}

func (s *Sink) dropped(e registry.Event, why string) {
	if s.obs != nil {
		s.obs.SyslogDropped()
	}
	s.log.Warn("audit syslog: event dropped", "why", why, "queue", s.cfg.Queue, "kind", e.Kind, "request_id", e.RequestID, "at", e.At)
}

func (s *Sink) depth() {
	if s.obs != nil {
		s.obs.SyslogQueueDepth(len(s.queue))
	}
}

// Close stops taking the queue: it sends what is queued while ctx allows,
// then drops (counted, logged) what is left.
func (s *Sink) Close(ctx context.Context) {
	s.closed.Do(func() {
		go func() {
			<-ctx.Done()
			close(s.quit)
		}()
		close(s.queue)
		<-s.done
	})
}

// loop sends each queued event, retrying it until sent or closed.
func (s *Sink) loop() {
	defer close(s.done)
	defer func() {
		if s.conn != nil {
			_ = s.conn.Close()
		}
	}()
	for e := range s.queue {
		s.depth()
		if !s.deliver(e) {
			s.dropped(e, "closed before the collector took it")
		}
	}
}

// deliver sends e, reconnecting with a doubling back-off on failure; it
// returns false when the sink is closed first.
func (s *Sink) deliver(e registry.Event) bool {
	b := frame(message(e, s.cfg.Facility, s.cfg.Hostname, s.cfg.App, s.pid, s.cfg.RevealFiscalCode))
	wait := s.cfg.RetryMin
	for {
		err := s.write(b)
		if err == nil {
			if s.obs != nil {
				s.obs.SyslogSent()
			}
			return true
		}
		s.log.Warn("audit syslog: send failed, retrying", "addr", s.cfg.Address, "in", wait, "queued", len(s.queue), "err", err)
		select {
		case <-s.quit:
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, s.cfg.RetryMax)
	}
}

// write sends one frame on the connection, opening it first if needed; a
// failure closes it.
func (s *Sink) write(b []byte) error {
	if s.conn == nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DialTimeout)
		c, err := s.dial(ctx)
		cancel()
		if err != nil {
			return err
		}
		s.conn = c
	} else if time.Since(s.last) > idleCheck && peerClosed(s.conn) {
		_ = s.conn.Close()
		s.conn = nil
		return errors.New("the collector closed the connection")
	}
	s.last = time.Now()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	if _, err := s.conn.Write(b); err != nil {
		_ = s.conn.Close()
		s.conn = nil
		return err
	}
	return nil
}

// dialCollector opens TCP, then TLS when configured.
func (s *Sink) dialCollector(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.cfg.TLS == nil {
		return d.DialContext(ctx, "tcp", s.cfg.Address)
	}
	td := &tls.Dialer{NetDialer: d, Config: s.cfg.TLS}
	c, err := td.DialContext(ctx, "tcp", s.cfg.Address)
	if err != nil {
		var rec tls.RecordHeaderError
		if errors.As(err, &rec) {
			return nil, fmt.Errorf("%w (is the collector speaking TLS?)", err)
		}
		return nil, err
	}
	return c, nil
}

// idleCheck is how long a connection may sit unused before a write first
// checks that the collector has not closed it (a write on a connection the
// peer closed succeeds, and its event would be lost).
const idleCheck = 200 * time.Millisecond

// peerClosed says whether the collector closed c: a collector sends
// nothing, so anything but a timeout from a short read means it is gone.
func peerClosed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var one [1]byte
	_, err := c.Read(one[:])
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}
