package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// accounts answers /accounts/{n}: 200 for even n (chunked when n is a multiple of 4), 500 for odd n,
// and counts what it answered so that a test can hold the summary against it.
type accounts struct {
	ok, failed atomic.Int64
}

func (a *accounts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/accounts/"))
	switch {
	case err != nil:
		http.NotFound(w, r)
	case n%2 == 1:
		a.failed.Add(1)
		http.Error(w, "odd", http.StatusInternalServerError)
	default:
		a.ok.Add(1)
		if n%4 == 0 {
			w.(http.Flusher).Flush() // headers out before the body: net/http then sends it chunked
		}
		fmt.Fprintf(w, `{"id":"%d"}`, n)
	}
}

// runLoad runs the generator in-process on a command line and returns what it printed.
func runLoad(t *testing.T, interrupt <-chan struct{}, args ...string) ([]tickLine, summaryLine) {
	t.Helper()
	cfg, err := parseArgs(args)
	if err != nil {
		t.Fatalf("parseArgs(%q): %v", args, err)
	}
	var out bytes.Buffer
	if err := run(cfg, &out, interrupt); err != nil {
		t.Fatalf("run: %v", err)
	}
	return parseOutput(t, out.Bytes())
}

// parseOutput checks the JSON lines' shape: ticks, then exactly one summary, last.
func parseOutput(t *testing.T, out []byte) (ticks []tickLine, summary summaryLine) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	for i, line := range lines {
		var kind struct{ Type string }
		if err := json.Unmarshal(line, &kind); err != nil {
			t.Fatalf("line %d is not JSON: %s", i+1, line)
		}
		switch {
		case kind.Type == "tick" && i < len(lines)-1:
			var tick tickLine
			mustUnmarshal(t, line, &tick)
			ticks = append(ticks, tick)
		case kind.Type == "summary" && i == len(lines)-1:
			mustUnmarshal(t, line, &summary)
		default:
			t.Fatalf("unexpected line %d of %d: %s", i+1, len(lines), line)
		}
	}
	return ticks, summary
}

func mustUnmarshal(t *testing.T, line []byte, v interface{}) {
	t.Helper()
	if err := json.Unmarshal(line, v); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
}

func TestRunCountsAnswersByStatus(t *testing.T) {
	server := &accounts{}
	ts := httptest.NewServer(server)
	defer ts.Close()

	ticks, summary := runLoad(t, nil, "-url", ts.URL+"/accounts/{id}", "-ids", "10-17",
		"-users", "4", "-max-requests", "3000", "-duration", "20s", "-interval", "50ms")

	if summary.Requests != 3000 || summary.Users != 4 {
		t.Fatalf("summary: %+v", summary)
	}
	if summary.OK != uint64(server.ok.Load()) || summary.Errors["http_500"] != uint64(server.failed.Load()) {
		t.Fatalf("summary says %d ok and %v, the server answered %d ok and %d failed",
			summary.OK, summary.Errors, server.ok.Load(), server.failed.Load())
	}
	if summary.OK == 0 || len(summary.Errors) != 1 || summary.OK+summary.Errors["http_500"] != 3000 {
		t.Fatalf("expected a mix of 200 and 500 only: %+v", summary)
	}
	var fromTicks uint64
	for _, tick := range ticks {
		fromTicks += tick.Requests
	}
	if fromTicks != summary.Requests {
		t.Fatalf("the ticks add up to %d requests, the summary says %d", fromTicks, summary.Requests)
	}
	l := summary.Latency
	if !(0 < l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Fatalf("latencies out of order: %+v", l)
	}
}

func TestRunSortsTransportErrors(t *testing.T) {
	tests := []struct {
		name    string
		url     func(t *testing.T) string
		timeout string
		want    string
	}{
		{name: "refused", url: closedPort, want: "refused"},
		{name: "reset", url: hangsUp, want: "reset"},
		{name: "timeout", url: neverAnswers, timeout: "50ms", want: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-url", tt.url(t), "-users", "2", "-max-requests", "6", "-duration", "10s"}
			if tt.timeout != "" {
				args = append(args, "-timeout", tt.timeout)
			}
			_, summary := runLoad(t, nil, args...)
			if summary.Requests != 6 || summary.OK != 0 || summary.Errors[tt.want] != 6 {
				t.Fatalf("want 6 requests, all %s: %+v", tt.want, summary)
			}
		})
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

func hangsUp(t *testing.T) string {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/"
}

func neverAnswers(t *testing.T) string {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // until the client gives up, or the test is over
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { close(release) }) // runs first
	return ts.URL + "/"
}

func TestRunGivesUpOnHungRequests(t *testing.T) {
	defer func(grace time.Duration) { graceAfterDuration = grace }(graceAfterDuration)
	graceAfterDuration = 200 * time.Millisecond

	cfg, err := parseArgs([]string{"-url", neverAnswers(t), "-users", "3", "-timeout", "1h", "-duration", "100ms"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	began := time.Now()
	err = run(cfg, &out, nil)
	if err != (hung{users: 3}) || time.Since(began) > 2*time.Second {
		t.Fatalf("run returned %v after %v, want it to give up on 3 users after 0.3 s", err, time.Since(began))
	}
	if _, summary := parseOutput(t, out.Bytes()); summary.Requests != 0 {
		t.Fatalf("no request should have completed: %+v", summary)
	}
}

func TestRunRedialsWhenTheServerCloses(t *testing.T) {
	server := &accounts{}
	ts := httptest.NewUnstartedServer(server)
	ts.Config.SetKeepAlivesEnabled(false) // "Connection: close" on every answer
	ts.Start()
	defer ts.Close()
	_, summary := runLoad(t, nil, "-url", ts.URL+"/accounts/2", "-users", "2", "-max-requests", "50", "-duration", "10s")
	if summary.Requests != 50 || summary.OK != 50 || server.ok.Load() != 50 {
		t.Fatalf("want 50 requests, all ok, each on a new connection: %+v", summary)
	}
}

func TestRunStopsOnDuration(t *testing.T) {
	ts := httptest.NewServer(&accounts{})
	defer ts.Close()
	ticks, summary := runLoad(t, nil, "-url", ts.URL+"/accounts/2", "-users", "2",
		"-duration", "300ms", "-interval", "100ms")
	if summary.Duration < 0.3 || summary.Duration > 1 || len(ticks) < 2 {
		t.Fatalf("ran %.3fs with %d ticks, want about 0.3s and 2 to 4", summary.Duration, len(ticks))
	}
	if summary.Requests == 0 || summary.OK != summary.Requests || summary.RPS <= 0 {
		t.Fatalf("summary: %+v", summary)
	}
}

func TestRunStopsOnInterrupt(t *testing.T) {
	ts := httptest.NewServer(&accounts{})
	defer ts.Close()
	interrupt := make(chan struct{})
	time.AfterFunc(200*time.Millisecond, func() { close(interrupt) })
	began := time.Now()
	_, summary := runLoad(t, interrupt, "-url", ts.URL+"/accounts/2", "-users", "2", "-duration", "1m")
	if took := time.Since(began); took > 5*time.Second || summary.Requests == 0 {
		t.Fatalf("took %v to stop, after %d requests", took, summary.Requests)
	}
}

func TestRunHoldsTheRate(t *testing.T) {
	ts := httptest.NewServer(&accounts{})
	defer ts.Close()
	_, summary := runLoad(t, nil, "-url", ts.URL+"/accounts/2", "-users", "4", "-rate", "200",
		"-duration", "500ms")
	if summary.Requests < 60 || summary.Requests > 130 {
		t.Fatalf("%d requests in 0.5 s at 200/s, want about 100", summary.Requests)
	}
}

func TestRunRampsUsersUp(t *testing.T) {
	ts := httptest.NewServer(&accounts{})
	defer ts.Close()
	ticks, _ := runLoad(t, nil, "-url", ts.URL+"/accounts/2", "-users", "8", "-ramp", "400ms",
		"-duration", "600ms", "-interval", "100ms")
	if len(ticks) < 5 || ticks[0].Users > 4 || ticks[4].Users != 8 {
		t.Fatalf("users by tick: %v, want a climb to 8 by 0.5 s", usersByTick(ticks))
	}
}

func usersByTick(ticks []tickLine) []int64 {
	var users []int64
	for _, tick := range ticks {
		users = append(users, tick.Users)
	}
	return users
}

func TestParseArgsRefuses(t *testing.T) {
	const url = "http://127.0.0.1:1/"
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{}, "-url is required"},
		{[]string{"-url", url, "-users", "0"}, "-users"},
		{[]string{"-url", url, "-duration", "0s"}, "-duration"},
		{[]string{"-url", url, "-duration", "1s", "-ramp", "2s"}, "-ramp"},
		{[]string{"-url", url, "-rate", "-1"}, "-rate"},
		{[]string{"-url", url, "-timeout", "0s"}, "-timeout"},
		{[]string{"-url", url, "-max-requests", "0"}, "-max-requests"},
		{[]string{"-url", url, "-interval", "0s"}, "-interval"},
		{[]string{"-url", url, "-ids", "9-1"}, "backwards"},
		{[]string{"-url", url, "extra"}, "unexpected argument"},
		{[]string{"-url", url, "-users", "many"}, "invalid value"},
		{[]string{"-nope"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseArgs(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}
