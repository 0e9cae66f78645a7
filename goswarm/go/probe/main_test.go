package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
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

// fakeClock advances only when slept on, and by what a check costs.
type fakeClock struct{ t time.Time }

func (f *fakeClock) clock() clock {
	return clock{func() time.Time { return f.t }, func(d time.Duration) { f.t = f.t.Add(d) }}
}

func TestSteadyAnswersAtOnceUntilTheServiceHasAnsweredThenStays(t *testing.T) {
	marker := t.TempDir() + "/healthy"
	fake := &fakeClock{time.Unix(0, 0)}
	checks := 0
	ok := func() error { checks++; return nil }
	if err := run(ok, nil, 10*time.Second, marker, fake.clock()); err != nil || checks != 1 || fake.t.Unix() != 0 {
		t.Fatalf("first success: err %v, %d checks, at %v", err, checks, fake.t)
	}
	if err := run(ok, nil, 10*time.Second, marker, fake.clock()); err != nil || checks != 12 || fake.t.Unix() != 10 {
		t.Fatalf("steady: err %v, %d checks, at %v", err, checks, fake.t)
	}
	slow := func() error { fake.t = fake.t.Add(1500 * time.Millisecond); return nil }
	start := fake.t
	if err := run(slow, nil, 10*time.Second, marker, fake.clock()); err != nil || fake.t.Sub(start) > 14*time.Second {
		t.Fatalf("slow checks must not stretch the window: err %v, took %v", err, fake.t.Sub(start))
	}
	failing := 0
	flaky := func() error {
		failing++
		if failing == 3 {
			return errors.New("status 500")
		}
		return nil
	}
	if err := run(flaky, nil, 10*time.Second, marker, fake.clock()); err == nil || failing != 3 {
		t.Fatalf("a failure while steady must end the probe at once: err %v after %d checks", err, failing)
	}
	if err := run(func() error { return errors.New("refused") }, nil, 10*time.Second, marker, fake.clock()); err == nil {
		t.Fatal("a failure on the first check must fail")
	}
	if err := run(ok, nil, 0, t.TempDir()+"/none", fake.clock()); err != nil {
		t.Fatal(err)
	}
}

func TestANewTaskPassesOnlyOnceItsSmokePathAnswers(t *testing.T) {
	marker := t.TempDir() + "/healthy"
	fake := &fakeClock{time.Unix(0, 0)}
	ok := func() error { return nil }
	smokes := 0
	answers := errors.New("GET http://127.0.0.1:6767/accounts/1: status 500")
	smoke := func() error { smokes++; return answers }
	for _, steady := range []time.Duration{0, 10 * time.Second} {
		err := run(ok, smoke, steady, marker, fake.clock())
		if err == nil || err.Error() != "smoke: GET http://127.0.0.1:6767/accounts/1: status 500" {
			t.Fatalf("steady %v: a failing smoke path must fail the check, saying so: %v", steady, err)
		}
		if _, statErr := os.Stat(marker); statErr == nil {
			t.Fatal("a task that failed its smoke path is not marked as having answered")
		}
	}
	answers = nil
	if err := run(ok, smoke, 0, marker, fake.clock()); err != nil || smokes != 3 || fake.t.Unix() != 0 {
		t.Fatalf("first pass: err %v, %d smokes, at %v", err, smokes, fake.t)
	}
	if err := run(ok, smoke, 0, marker, fake.clock()); err != nil || smokes != 3 {
		t.Fatalf("once it has answered, the smoke path is not read again: err %v, %d smokes", err, smokes)
	}
	if err := run(func() error { return errors.New("refused") }, smoke, 0, marker, fake.clock()); err == nil || smokes != 3 {
		t.Fatalf("a failing health check fails before any smoke: err %v, %d smokes", err, smokes)
	}
}

func TestSuperviseExitsAsItsProgramExits(t *testing.T) {
	file := t.TempDir() + "/child"
	for _, c := range []struct {
		argv []string
		want int
	}{
		{[]string{"sh", "-c", "exit 0"}, 0},
		{[]string{"sh", "-c", "exit 3"}, 3},
		{[]string{"sh", "-c", "kill -KILL $$"}, 137},
		{[]string{"/no/such/program"}, 127},
	} {
		if got := supervise(c.argv, time.Second, file); got != c.want {
			t.Errorf("%v: exit %d, want %d", c.argv, got, c.want)
		}
	}
}

func TestReloadRestartsTheProgramAndTermStopsIt(t *testing.T) {
	file := t.TempDir() + "/child"
	status := make(chan int, 1)
	go func() { status <- supervise([]string{"sleep", "30"}, 2*time.Second, file) }()
	first := waitForFile(t, file, "")
	if err := reload(os.Getpid(), file, nil, 5*time.Second, clock{time.Now, time.Sleep}); err != nil {
		t.Fatalf("reload: %v", err)
	}
	second := waitForFile(t, file, first)
	if second == first {
		t.Fatalf("the program was not started again (pid %s)", first)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil { // forwarded to the program
		t.Fatal(err)
	}
	select {
	case got := <-status:
		if got != 128+int(syscall.SIGTERM) {
			t.Errorf("exit %d after SIGTERM, want %d", got, 128+int(syscall.SIGTERM))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not exit after SIGTERM")
	}
}

func TestReloadRefusesAnUnsupervisedContainer(t *testing.T) {
	err := reload(os.Getpid(), t.TempDir()+"/none", nil, time.Second, clock{time.Now, time.Sleep})
	if err == nil || !strings.Contains(err.Error(), "not supervised") {
		t.Fatalf("got %v, want a refusal", err)
	}
}

func waitForFile(t *testing.T, path, other string) string {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && string(b) != other {
			return string(b)
		}
	}
	t.Fatalf("%s: no new pid", path)
	return ""
}
