// Command loadgen is the HTTP load generator behind `goswarm load`: N users, each on its own keep-alive
// connection, loop GETs over a URL template for a while, and it prints what they got as JSON lines.
//
//	loadgen -url 'http://127.0.0.1:6767/accounts/{id}' -ids 10000-10099 -users 100 -ramp 5s -duration 30s
//
// Every -interval it prints a tick for the requests completed in that interval, and at the end exactly
// one summary (latencies in ms; errors by kind: refused, reset, timeout, other, http_<status>):
//
//	{"type":"tick","t":1.0,"users":20,"requests":9512,"ok":9512,"errors":{},"latency_ms":{"p50":0.41,"p95":1.2,"p99":2.3,"max":7.9}}
//	{"type":"summary","requests":1984211,"ok":1984100,"duration_s":30.001,"rps":66138.5,"errors":{"http_500":111},
//	 "latency_ms":{"min":0.05,"mean":1.5,"p50":1.1,"p90":2.9,"p95":3.8,"p99":9.6,"max":41.2},"users":100}
//
// Only JSON goes to stdout; messages go to stderr. It always stops by itself: at -duration, after
// -max-requests, on SIGINT or SIGTERM, or at EOF on stdin with -stdin-stop. Requests still in flight
// then get up to their -timeout, and the whole run at most -duration plus 30 s. A bad flag gets one
// line on stderr and exit status 2.
//
// The client is its own lean HTTP/1.1 over net.Conn rather than net/http: on a small machine the
// generator's CPU is taken from the server under test, and net/http spends several times what wrk does
// per request. The bench/loadgen_vs_wrk.py script measures the two side by side.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseArgs(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(os.Stderr)
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}

	err = run(cfg, os.Stdout, interruptions(cfg.stdinStop))
	var stuck hung
	switch {
	case errors.As(err, &stuck):
		fmt.Fprintln(os.Stderr, "loadgen:", err) // the summary is out: the run itself is fine
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// interruptions closes its channel on the first SIGINT or SIGTERM, or at EOF on stdin when
// stdinStop is set (so that a parent that dies takes the load with it). A second signal then
// kills the process as usual, for someone whose patience has run out.
func interruptions(stdinStop bool) <-chan struct{} {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	eof := make(chan struct{})
	if stdinStop {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			close(eof)
		}()
	}
	interrupt := make(chan struct{})
	go func() {
		select {
		case <-signals:
		case <-eof:
		}
		signal.Reset(syscall.SIGINT, syscall.SIGTERM)
		close(interrupt)
	}()
	return interrupt
}
