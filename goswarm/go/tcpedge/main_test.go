package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startBackend serves h on ip:port ("0" picks a free port).
func startBackend(t *testing.T, ip, port string, h http.Handler) (*httptest.Server, error) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, nil
}

// twoBackends starts "tasks" on 127.0.0.1 and 127.0.0.2 with the same port,
// as swarm tasks share a port and differ by IP. It returns that port.
func twoBackends(t *testing.T, h1, h2 http.Handler) string {
	t.Helper()
	for i := 0; i < 20; i++ {
		first, err := startBackend(t, "127.0.0.1", "0", h1)
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(first.Listener.Addr().String())
		if _, err := startBackend(t, "127.0.0.2", port, h2); err == nil {
			return port
		}
		first.Close()
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return ""
}

// startProxy runs p on a fresh loopback listener and returns its address.
func startProxy(t *testing.T, p *proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.serve(ln)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func newTestProxy(target string) *proxy {
	return newProxy(config{target: target, dialTimeout: 2 * time.Second})
}

// fakeDNS answers with addrs, rotated by one more each call as Docker's
// embedded DNS shuffles its answers, and counts the calls.
func fakeDNS(calls *atomic.Int32, addrs ...string) func(context.Context, string) ([]string, error) {
	return func(context.Context, string) ([]string, error) {
		n := int(calls.Add(1)) % len(addrs)
		return append(append([]string(nil), addrs[n:]...), addrs[:n]...), nil
	}
}

func get(t *testing.T, client *http.Client, url string) string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q, err %v", url, resp.StatusCode, body, err)
	}
	return string(body)
}

// noKeepAlive makes every request a new connection, hence a new backend pick.
func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
}

func TestForwardsWithKeepAlive(t *testing.T) {
	echoRemote := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) })
	backend, err := startBackend(t, "127.0.0.1", "0", echoRemote)
	if err != nil {
		t.Fatal(err)
	}
	addr := startProxy(t, newTestProxy(backend.Listener.Addr().String()))

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	first := get(t, client, "http://"+addr+"/")
	second := get(t, client, "http://"+addr+"/")
	// The proxy dials the backend once per client connection, so the same
	// backend-side remote address means both requests shared one connection.
	if first == "" || first != second {
		t.Errorf("backend saw %q then %q, want one kept-alive connection", first, second)
	}
}

func TestHalfCloseHTTP10(t *testing.T) {
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond) // answer after the client has half-closed
		io.WriteString(w, "hello")
	})
	backend, err := startBackend(t, "127.0.0.1", "0", slow)
	if err != nil {
		t.Fatal(err)
	}
	addr := startProxy(t, newTestProxy(backend.Listener.Addr().String()))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	c.(*net.TCPConn).CloseWrite()
	resp, err := io.ReadAll(c)
	if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.0 200") || !strings.HasSuffix(string(resp), "hello") {
		t.Fatalf("response %q, err %v", resp, err)
	}
}

func TestRoundRobinResolvesPerConnection(t *testing.T) {
	var hits [2]atomic.Int32
	port := twoBackends(t,
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits[0].Add(1) }),
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits[1].Add(1) }))
	p := newTestProxy("app:" + port)
	var lookups atomic.Int32
	p.lookup = fakeDNS(&lookups, "127.0.0.2", "127.0.0.1")
	addr := startProxy(t, p)

	client := noKeepAlive()
	for i := 0; i < 6; i++ {
		get(t, client, "http://"+addr+"/")
	}
	if hits[0].Load() != 3 || hits[1].Load() != 3 {
		t.Errorf("hits = %d, %d; want 3, 3", hits[0].Load(), hits[1].Load())
	}
	if n := lookups.Load(); n != 6 {
		t.Errorf("lookups = %d, want one per connection (6)", n)
	}
}

func TestFallsBackWhenTaskRefuses(t *testing.T) {
	var hits atomic.Int32
	live, err := startBackend(t, "127.0.0.2", "0", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(live.Listener.Addr().String())
	p := newTestProxy("app:" + port)
	var lookups atomic.Int32
	// Nothing listens on 127.0.0.3; rotation makes every other connection
	// try it first.
	p.lookup = fakeDNS(&lookups, "127.0.0.3", "127.0.0.2")
	addr := startProxy(t, p)

	client := noKeepAlive()
	for i := 0; i < 6; i++ {
		get(t, client, "http://"+addr+"/")
	}
	if n := hits.Load(); n != 6 {
		t.Errorf("live task got %d requests, want 6", n)
	}
}

func TestNoBackendClosesClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		target string
		lookup func(context.Context, string) ([]string, error)
	}{
		{"refused", dead, nil},
		{"lookup error", "app:80", func(context.Context, string) ([]string, error) { return nil, errors.New("no such host") }},
		{"no addresses", "app:80", func(context.Context, string) ([]string, error) { return nil, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestProxy(tt.target)
			if tt.lookup != nil {
				p.lookup = tt.lookup
			}
			c, err := net.Dial("tcp", startProxy(t, p))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			n, err := c.Read(make([]byte, 1))
			if n != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read = %d, %v; want the connection closed at once", n, err)
			}
		})
	}
}

func TestGracefulShutdown(t *testing.T) {
	var once sync.Once
	started := make(chan struct{})
	backend, err := startBackend(t, "127.0.0.1", "0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "slow done")
	}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() { run(ctx, ln, newTestProxy(backend.Listener.Addr().String()), 5*time.Second); close(stopped) }()

	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := noKeepAlive().Get("http://" + addr + "/")
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{string(body), err}
	}()
	<-started
	cancel()

	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break // listener closed: new connections are refused
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
	}
	select {
	case <-stopped:
		t.Fatal("run returned while a request was in flight")
	default:
	}
	if r := <-done; r.err != nil || r.body != "slow done" {
		t.Errorf("in-flight response = %q, %v; want %q", r.body, r.err, "slow done")
	}
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		t.Fatal("run did not return after the last connection finished")
	}
}

func TestShutdownGivesUpAfterGrace(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close() // accepts, via the backlog, and never answers
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { run(ctx, ln, newTestProxy(backend.Addr().String()), 100*time.Millisecond); close(stopped) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // let the proxy accept it
	cancel()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		t.Fatal("run waited past its grace period for an idle connection")
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{"defaults", map[string]string{"TARGET": "accountservice:6767"}, config{":80", "accountservice:6767", 2 * time.Second}, ""},
		{"all set", map[string]string{"LISTEN": ":6767", "TARGET": "10.0.0.5:6767", "DIAL_TIMEOUT": "250ms"}, config{":6767", "10.0.0.5:6767", 250 * time.Millisecond}, ""},
		{"ipv6 target", map[string]string{"TARGET": "[::1]:80"}, config{":80", "[::1]:80", 2 * time.Second}, ""},
		{"missing target", map[string]string{}, config{}, "TARGET is required"},
		{"target without port", map[string]string{"TARGET": "accountservice"}, config{}, "TARGET"},
		{"target without host", map[string]string{"TARGET": ":6767"}, config{}, "TARGET"},
		{"target named port", map[string]string{"TARGET": "accountservice:http"}, config{}, "TARGET"},
		{"target port too big", map[string]string{"TARGET": "accountservice:70000"}, config{}, "TARGET"},
		{"listen without colon", map[string]string{"LISTEN": "6767", "TARGET": "a:1"}, config{}, "LISTEN"},
		{"listen port zero", map[string]string{"LISTEN": ":0", "TARGET": "a:1"}, config{}, "LISTEN"},
		{"timeout without unit", map[string]string{"TARGET": "a:1", "DIAL_TIMEOUT": "1"}, config{}, "DIAL_TIMEOUT"},
		{"timeout zero", map[string]string{"TARGET": "a:1", "DIAL_TIMEOUT": "0s"}, config{}, "DIAL_TIMEOUT"},
		{"timeout negative", map[string]string{"TARGET": "a:1", "DIAL_TIMEOUT": "-1s"}, config{}, "DIAL_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if code := probe(":" + port); code != 0 {
		t.Errorf("probe open port = %d, want 0", code)
	}
	ln.Close()
	if code := probe(":" + port); code != 1 {
		t.Errorf("probe closed port = %d, want 1", code)
	}
}
