package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	for _, c := range []struct {
		in     string
		status int
		body   string
		err    string
	}{
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfine\n", 200, "fine", ""},
		{"HTTP/1.0 500 Internal Server Error\r\n\r\n{\"error\":\n \"boom\"}", 500, `{"error": "boom"}`, ""},
		{"HTTP/1.1 204 No Content\r\n\r\n", 204, "", ""},
		{"SSH-2.0-OpenSSH\r\n", 0, "", "not an HTTP answer"},
		{"HTTP/1.1 abc\r\n", 0, "", "bad status line"},
		{"", 0, "", "no HTTP answer"},
		{"HTTP/1.1 200 OK\r\n\r\n" + strings.Repeat("x", 500), 200, strings.Repeat("x", 200), ""},
	} {
		status, body, err := readResponse(bufio.NewReader(strings.NewReader(c.in)))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || status != c.status || body != c.body {
			t.Errorf("%q: got %d %q %v, want %d %q", c.in, status, body, err, c.status, c.body)
		}
	}
}

func TestGetAgainstAServer(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.WriteHeader(500)
			fmt.Fprint(w, `{"error":"database down"}`)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer server.Close()
	if err := get(server.URL+"/health?x=1", time.Second); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	err := get(server.URL+"/broken", time.Second)
	if err == nil || !strings.Contains(err.Error(), `status 500: {"error":"database down"}`) {
		t.Fatalf("broken: %v", err)
	}
	for _, bad := range []string{"/health", "https://x/y", "http:///y"} {
		if err := get(bad, time.Second); err == nil || !strings.Contains(err.Error(), "want an http://") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestClosedPortAndTCP(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	if err := dial(address, time.Second); err != nil {
		t.Fatalf("open port: %v", err)
	}
	listener.Close()
	if err := dial(address, time.Second); err == nil {
		t.Fatal("closed port answered")
	}
	if err := get("http://"+address+"/health", time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("closed port: %v", err)
	}
}
