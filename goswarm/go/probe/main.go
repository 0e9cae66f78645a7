// Command probe checks a service from inside its own container, where a FROM scratch image has no curl
// and no shell: goswarm adds it to every image it builds, at /.goswarm/probe, and runs it as the
// container's health check and, in a trial container, against the service's smoke path.
//
//	probe http://127.0.0.1:6767/health      # exit 0 on a 2xx answer, 1 otherwise, saying what it got
//	probe -tcp 127.0.0.1:6767               # exit 0 once the port accepts a connection
//	probe -steady 10s http://...            # as a health check: cheap once healthy (see below)
//	probe -smoke http://.../accounts/1 URL  # ...that a new task passes only once its smoke path answers 2xx
//	probe -supervise -- /service            # `goswarm dev --live`: restart the service on SIGHUP (supervise.go)
//
// It speaks just enough HTTP/1.0 over a plain socket to read a status line: no net/http keeps the
// binary small, since it is copied into every image.
//
// -steady: Docker before 25 has one health check interval for a task's whole life. A short one makes a
// new task healthy (and take traffic) soon after it starts, but then every check is an exec, which
// costs dockerd, containerd and the shim some 30 ms of CPU. Docker waits for a check to end before it
// starts the interval to the next one, so once the service has answered once (a marker file in /dev/shm,
// which every container has), the probe stays: it checks again every second for the -steady window and
// fails at once if a check fails. The first check still comes one short interval after the start; later
// ones cost one exec per window.
//
// -smoke: the engine lets a task take traffic once its health check passes. With -smoke, a task's first
// passing check also GETs the service's smoke path, and fails ("smoke: GET ...: status 500") unless it
// answers 2xx: a release that is healthy but wrong never takes a request, and a start-first update needs
// no trial container to find that out first. The marker file then says the task passed; later checks skip it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

const steadyEvery = time.Second

func main() {
	tcp := flag.Bool("tcp", false, "only check that HOST:PORT accepts a connection")
	timeout := flag.Duration("timeout", 2*time.Second, "give up on one check after this long")
	steady := flag.Duration("steady", 0, "once healthy, keep checking for this long before exiting 0")
	marker := flag.String("marker", "/dev/shm/.goswarm-healthy", "the file that says the service answered once")
	smoke := flag.String("smoke", "", "until the service has answered once: also GET this URL (its smoke path)")
	superviseIt := flag.Bool("supervise", false, "run PROGRAM [ARGS...] as a child and restart it on SIGHUP (see supervise.go)")
	grace := flag.Duration("grace", 10*time.Second, "-supervise: how long a stopped program gets before SIGKILL")
	reloadIt := flag.Bool("reload", false, "restart the supervised program (pid 1), then wait for -tcp HOST:PORT if given")
	flag.Parse()
	if *superviseIt {
		if flag.NArg() == 0 {
			fmt.Fprintln(os.Stderr, "usage: probe -supervise [-grace 10s] [--] PROGRAM [ARGS...]")
			os.Exit(2)
		}
		os.Exit(supervise(flag.Args(), *grace, childFile))
	}
	if *reloadIt {
		var ready func() error
		if *tcp && flag.NArg() == 1 {
			ready = func() error { return dial(flag.Arg(0), 200*time.Millisecond) }
		}
		if err := reload(1, childFile, ready, *timeout*5, clock{time.Now, time.Sleep}); err != nil {
			fmt.Println(err)
			_ = os.WriteFile(reloadErrorFile, []byte(err.Error()+"\n"), 0o644)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: probe [-timeout 2s] [-steady 10s] [-smoke URL] http://HOST:PORT/PATH | probe -tcp HOST:PORT")
		os.Exit(2)
	}
	check := func() error { return get(flag.Arg(0), *timeout) }
	if *tcp {
		check = func() error { return dial(flag.Arg(0), *timeout) }
	}
	var first func() error
	if *smoke != "" {
		first = func() error { return get(*smoke, *timeout) }
	}
	if err := run(check, first, *steady, *marker, clock{time.Now, time.Sleep}); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// clock is time, injected so that tests need not wait.
type clock struct {
	now   func() time.Time
	sleep func(time.Duration)
}

// run checks once. Until the service has answered once (no marker yet), a first success also needs
// smoke (when given) to pass, then writes the marker and returns at once, so that the task is healthy now.
// After that, with a steady window, it goes on checking every second until the window has passed (by the
// clock, so slow checks cannot stretch it past the health check's timeout), and returns the first failure.
func run(check, smoke func() error, steady time.Duration, marker string, c clock) error {
	if err := check(); err != nil {
		return err
	}
	if steady <= 0 && smoke == nil {
		return nil
	}
	if _, err := os.Stat(marker); err != nil {
		if smoke != nil {
			if err := smoke(); err != nil {
				return fmt.Errorf("smoke: %v", err)
			}
		}
		_ = os.WriteFile(marker, nil, 0o644) // where it cannot be written, every check is a first one
		return nil
	}
	if steady <= 0 {
		return nil
	}
	for end := c.now().Add(steady); c.now().Before(end); {
		c.sleep(steadyEvery)
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func dial(address string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", address, timeout)
	if err != nil {
		return fmt.Errorf("tcp %s: %v", address, err)
	}
	return conn.Close()
}

// get fails unless the URL answers 2xx; the error says what it answered, with the start of the body.
func get(rawURL string, timeout time.Duration) error {
	target, err := url.Parse(rawURL)
	if err != nil || target.Scheme != "http" || target.Host == "" {
		return fmt.Errorf("GET %s: want an http://HOST:PORT/PATH URL", rawURL)
	}
	conn, err := net.DialTimeout("tcp", target.Host, timeout)
	if err != nil {
		return fmt.Errorf("GET %s: %v", rawURL, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	request := fmt.Sprintf("GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: goswarm-probe\r\nConnection: close\r\n\r\n",
		target.RequestURI(), target.Host)
	if _, err := io.WriteString(conn, request); err != nil {
		return fmt.Errorf("GET %s: %v", rawURL, err)
	}
	status, body, err := readResponse(bufio.NewReader(conn))
	if err != nil {
		return fmt.Errorf("GET %s: %v", rawURL, err)
	}
	if status >= 200 && status <= 299 {
		return nil
	}
	if body == "" {
		return fmt.Errorf("GET %s: status %d", rawURL, status)
	}
	return fmt.Errorf("GET %s: status %d: %s", rawURL, status, body)
}

// readResponse returns the status code and up to 200 bytes of the body, on one line.
func readResponse(r *bufio.Reader) (int, string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, "", errors.New("no HTTP answer: " + strings.TrimSpace(err.Error()))
	}
	fields := strings.Fields(line)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return 0, "", fmt.Errorf("not an HTTP answer: %q", strings.TrimSpace(line))
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil {
		return 0, "", fmt.Errorf("bad status line: %q", strings.TrimSpace(line))
	}
	for { // headers
		header, err := r.ReadString('\n')
		if err != nil || strings.TrimSpace(header) == "" {
			break
		}
	}
	body := make([]byte, 200)
	n, _ := io.ReadFull(r, body)
	return status, strings.Join(strings.Fields(string(body[:n])), " "), nil
}
