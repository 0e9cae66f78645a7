// Command edge forwards TCP connections to the tasks of a Docker Swarm
// service, standing in for the ingress routing mesh on hosts without IPVS.
// The application uses endpoint_mode dnsrr, so Docker's embedded DNS lists
// only its healthy running tasks; resolving for every connection follows a
// start-first rolling update without failed requests.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	keepAlive       = 30 * time.Second
	resolveTimeout  = 2 * time.Second
	shutdownTimeout = 10 * time.Second
)

type config struct {
	listen      string
	target      string
	dialTimeout time.Duration
}

// parseConfig takes getenv as a parameter so tests need not touch the
// process environment. It rejects what would otherwise fail per connection.
func parseConfig(getenv func(string) string) (config, error) {
	listen, err := listenAddr(getenv)
	if err != nil {
		return config{}, err
	}
	cfg := config{listen: listen, target: getenv("TARGET"), dialTimeout: 2 * time.Second}
	if cfg.target == "" {
		return config{}, errors.New("TARGET is required, e.g. TARGET=accountservice:6767")
	}
	if host, err := splitPort(cfg.target); err != nil || host == "" {
		return config{}, fmt.Errorf("TARGET %q: want host:port, e.g. accountservice:6767", cfg.target)
	}
	if s := getenv("DIAL_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return config{}, fmt.Errorf("DIAL_TIMEOUT %q: want a positive duration, e.g. 1s", s)
		}
		cfg.dialTimeout = d
	}
	return cfg, nil
}

// listenAddr is apart from parseConfig because -healthcheck needs only LISTEN.
func listenAddr(getenv func(string) string) (string, error) {
	listen := getenv("LISTEN")
	if listen == "" {
		listen = ":80"
	}
	if _, err := splitPort(listen); err != nil {
		return "", fmt.Errorf("LISTEN %q: %v", listen, err)
	}
	return listen, nil
}

// splitPort insists on a numeric port: a scratch image has no /etc/services,
// and -healthcheck needs a port it can dial.
func splitPort(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("port %q is not a number in 1-65535", port)
	}
	return host, nil
}

// proxy forwards each accepted connection to one of the addresses that
// TARGET's host resolves to at that moment.
type proxy struct {
	host, port  string
	dialTimeout time.Duration
	// lookup is a field so tests can put several "tasks" behind one name.
	lookup func(ctx context.Context, host string) ([]string, error)

	next    atomic.Uint64  // round-robin position shared by all connections
	conns   sync.WaitGroup // in-flight connections, drained on shutdown
	lastLog atomic.Int64   // unix nanos of the last failure logged
}

func newProxy(cfg config) *proxy {
	host, port, _ := net.SplitHostPort(cfg.target) // validated by parseConfig
	return &proxy{host: host, port: port, dialTimeout: cfg.dialTimeout, lookup: net.DefaultResolver.LookupHost}
}

// backends resolves on every call because the set of tasks changes during a
// rolling update. It sorts before rotating because resolvers may return the
// same set in a different order each time, which would make rotation unfair.
func (p *proxy) backends(ctx context.Context) ([]string, error) {
	if net.ParseIP(p.host) != nil {
		return []string{p.host}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := p.lookup(ctx, p.host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("lookup %s: no addresses", p.host)
	}
	sort.Strings(addrs)
	start := int((p.next.Add(1) - 1) % uint64(len(addrs)))
	rotated := make([]string, 0, len(addrs))
	return append(append(rotated, addrs[start:]...), addrs[:start]...), nil
}

// dial tries every task in turn: one may have stopped since DNS answered,
// and the next task is a better answer for the client than an error.
func (p *proxy) dial(ctx context.Context) (net.Conn, error) {
	addrs, err := p.backends(ctx)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: p.dialTimeout, KeepAlive: keepAlive}
	for _, addr := range addrs {
		var c net.Conn
		if c, err = d.DialContext(ctx, "tcp", net.JoinHostPort(addr, p.port)); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("none of %d addresses of %s accepted, last error: %w", len(addrs), p.host, err)
}

func (p *proxy) handle(client net.Conn) {
	defer p.conns.Done()
	defer client.Close()
	backend, err := p.dial(context.Background())
	if err != nil {
		p.logf("edge: dropping connection from %v: %v", client.RemoteAddr(), err)
		return
	}
	defer backend.Close()
	done := make(chan struct{})
	go func() { pipe(backend, client); close(done) }()
	pipe(client, backend)
	<-done
}

// pipe copies src to dst. On a clean EOF it half-closes dst, so the peer
// sees the end of the stream while the other direction keeps flowing
// (HTTP/1.0 clients rely on it). On an error it closes both connections so
// the other direction does not wait forever on a dead peer.
func pipe(dst, src net.Conn) {
	_, err := io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && err == nil {
		cw.CloseWrite() // if dst is gone, the other direction fails and closes both
		return
	}
	dst.Close()
	src.Close()
}

// logf logs at most once a second: while every task is down each connection
// fails the same way, and a line apiece would flood the log.
func (p *proxy) logf(format string, args ...any) {
	now, last := time.Now().UnixNano(), p.lastLog.Load()
	if now-last >= int64(time.Second) && p.lastLog.CompareAndSwap(last, now) {
		log.Printf(format, args...)
	}
}

// serve accepts until ln is closed. Other accept errors (EMFILE,
// ECONNABORTED) are transient, so it backs off and retries rather than take
// down the node's only way in.
func (p *proxy) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			p.logf("edge: accept: %v", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		p.conns.Add(1)
		go p.handle(c)
	}
}

// run serves until ctx is done, then stops accepting and gives in-flight
// connections up to grace to finish, so replacing this task does not cut
// clients off mid-response. Keep-alive clients may never hang up, hence the
// limit.
func run(ctx context.Context, ln net.Listener, p *proxy, grace time.Duration) {
	served := make(chan struct{})
	go func() { p.serve(ln); close(served) }()
	<-ctx.Done()
	log.Println("Shutting down")
	ln.Close()
	<-served // no conns.Add after this, so Wait below is safe

	drained := make(chan struct{})
	go func() { p.conns.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(grace):
		log.Printf("edge: connections still open after %v, exiting anyway", grace)
	}
}

// probe backs the Docker HEALTHCHECK: the scratch image has no shell or curl,
// so the binary checks itself. Accepting connections is the edge's whole
// job; whether any task is up is the application's health, not ours.
func probe(listen string) int {
	_, port, _ := net.SplitHostPort(listen)
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 2*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	c.Close()
	return 0
}

func main() {
	healthcheck := flag.Bool("healthcheck", false, "connect to the local LISTEN port and exit 0 if it accepts")
	flag.Parse()
	log.SetOutput(os.Stdout)

	if *healthcheck {
		listen, err := listenAddr(os.Getenv)
		if err != nil { // exit 1, not 2: Docker reserves 2 for health checks
			fmt.Fprintln(os.Stderr, "healthcheck:", err)
			os.Exit(1)
		}
		os.Exit(probe(listen))
	}
	cfg, err := parseConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "edge:", err)
		os.Exit(2)
	}

	lc := net.ListenConfig{KeepAlive: keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", cfg.listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("edge: listening on %s, forwarding to %s", cfg.listen, cfg.target)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	run(ctx, ln, newProxy(cfg), shutdownTimeout)
}
