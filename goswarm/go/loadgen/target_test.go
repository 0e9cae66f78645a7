package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseIDs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "10000-10002", want: []string{"10000", "10001", "10002"}},
		{in: "7,9,20-22", want: []string{"7", "9", "20", "21", "22"}},
		{in: " 1 , 2 ", want: []string{"1", "2"}},
		{in: "5-5", want: []string{"5"}},
		{in: "abc,x-y", want: []string{"abc", "x-y"}}, // not two numbers: ids as they are
		{in: "1-b", want: []string{"1-b"}},
		{in: "5-3", wantErr: "backwards"},
		{in: "1,,2", wantErr: "empty item"},
		{in: "0-999999", want: nil}, // exactly maxIDs: checked by length below
		{in: "0-1000000", wantErr: "more than"},
		{in: "1,0-999999", wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseIDs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseIDs(%q) error = %v, want one with %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseIDs(%q): %v", tt.in, err)
			}
			if tt.in == "0-999999" {
				if len(got) != maxIDs || got[maxIDs-1] != "999999" {
					t.Fatalf("parseIDs(%q) gave %d ids", tt.in, len(got))
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseIDs(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	const tail = " HTTP/1.1\r\nHost: %s\r\nUser-Agent: goswarm-loadgen\r\n\r\n"
	tests := []struct {
		url      string
		ids      []string
		id       string // substituted into the request
		wantAddr string
		wantLine string // the request line's target and the Host header
		wantHost string
	}{
		{url: "http://127.0.0.1:6767/accounts/{id}", ids: []string{"10042"}, id: "10042",
			wantAddr: "127.0.0.1:6767", wantLine: "/accounts/10042", wantHost: "127.0.0.1:6767"},
		{url: "http://example.test/health", wantAddr: "example.test:80", wantLine: "/health", wantHost: "example.test"},
		{url: "HTTP://example.test", wantAddr: "example.test:80", wantLine: "/", wantHost: "example.test"},
		{url: "http://h:1?x={id}", ids: []string{"7"}, id: "7", wantAddr: "h:1", wantLine: "/?x=7", wantHost: "h:1"},
		{url: "http://h:1/a/{id}/b/{id}#frag", ids: []string{"3"}, id: "3",
			wantAddr: "h:1", wantLine: "/a/3/b/3", wantHost: "h:1"},
		{url: "http://[::1]:8080/x", wantAddr: "[::1]:8080", wantLine: "/x", wantHost: "[::1]:8080"},
		{url: "http://[::1]/x", wantAddr: "[::1]:80", wantLine: "/x", wantHost: "[::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			tg, err := parseTarget(tt.url, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if tg.addr != tt.wantAddr {
				t.Errorf("addr = %q, want %q", tg.addr, tt.wantAddr)
			}
			got := string(tg.appendRequest(nil, tt.id))
			want := "GET " + tt.wantLine + strings.Replace(tail, "%s", tt.wantHost, 1)
			if got != want {
				t.Errorf("request = %q, want %q", got, want)
			}
		})
	}
}

func TestParseTargetEscapesIDs(t *testing.T) {
	tg, err := parseTarget("http://h/accounts/{id}", []string{"a b/c"})
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.ids[0]; got != "a%20b%2Fc" {
		t.Fatalf("escaped id = %q", got)
	}
}

func TestParseTargetRefuses(t *testing.T) {
	tests := []struct {
		url     string
		ids     []string
		wantErr string
	}{
		{url: "https://h/x", wantErr: "http://"},
		{url: "127.0.0.1:6767/x", wantErr: "http://"},
		{url: "http:///x", wantErr: "no host"},
		{url: "http://{id}.h/x", ids: []string{"1"}, wantErr: "path or the query"},
		{url: "http://u:p@h/x", wantErr: "user info"},
		{url: "http://h/accounts/{id}", wantErr: "-ids is empty"},
		{url: "http://h/a b", wantErr: "escaped"},
		{url: "http://h/a%zz", wantErr: "invalid URL escape"},
		{url: "http://h h/a", wantErr: "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := parseTarget(tt.url, tt.ids)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseTarget(%q) error = %v, want one with %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestAppendRequestReusesBuffer(t *testing.T) {
	tg, err := parseTarget("http://h:1/accounts/{id}", []string{"10000"})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() { buf = tg.appendRequest(buf[:0], "10000") })
	if allocs != 0 {
		t.Fatalf("appendRequest allocates %.0f times per request", allocs)
	}
}
