// Command probe checks a service from inside its own container, where a FROM scratch image has no curl
// and no shell: goswarm adds it to every image it builds, at /.goswarm/probe, and runs it as the
// container's health check and, in a trial container, against the service's smoke path.
//
//	probe http://127.0.0.1:6767/health      # exit 0 on a 2xx answer, 1 otherwise, saying what it got
//	probe -tcp 127.0.0.1:6767               # exit 0 once the port accepts a connection
//
// It speaks just enough HTTP/1.0 over a plain socket to read a status line: no net/http keeps the
// binary small, since it is copied into every image.
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

func main() {
	tcp := flag.Bool("tcp", false, "only check that HOST:PORT accepts a connection")
	timeout := flag.Duration("timeout", 2*time.Second, "give up after this long")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: probe [-timeout 2s] http://HOST:PORT/PATH | probe -tcp HOST:PORT")
		os.Exit(2)
	}
	var err error
	if *tcp {
		err = dial(flag.Arg(0), *timeout)
	} else {
		err = get(flag.Arg(0), *timeout)
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
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
	if status < 200 || status > 299 {
		return fmt.Errorf("GET %s: status %d: %s", rawURL, status, body)
	}
	return nil
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
