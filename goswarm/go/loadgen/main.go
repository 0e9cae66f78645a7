// Command loadgen is the HTTP load generator behind `goswarm load`: N users, each on its own keep-alive
// connection, loop GETs over a URL template for a while, and it prints what they got as JSON lines.
//
//	loadgen -url 'http://127.0.0.1:6767/accounts/{id}' -ids 10000-10099 -users 100 -ramp 2s -duration 30s
//
// Every -interval it prints a tick for the requests completed in that interval, and at the end exactly
// one summary; latencies are in milliseconds, errors are counted by kind (refused, reset, timeout,
// other, and http_<status> for answers that are not 2xx):
//
//	{"type":"tick","t":1.002,"users":51,"requests":56524,"ok":56524,"errors":{},
//	 "latency_ms":{"p50":0.237,"p95":1.434,"p99":3.916,"max":16.937}}
//	...
//	{"type":"summary","requests":1787536,"ok":1779732,"duration_s":30.006,"rps":59572.4,
//	 "errors":{"http_404":7804},"latency_ms":{"min":0.019,"mean":1.284,"p50":0.876,"p90":2.62,
//	 "p95":3.865,"p99":7.338,"max":32.523},"users":100}
//
// (each on one line). Only JSON goes to stdout; messages go to stderr. It always stops by itself: at
// -duration, after -max-requests, on SIGINT or SIGTERM, or at EOF on stdin with -stdin-stop. Requests
// in flight then get up to their -timeout, and the run as a whole at most -duration plus 30 s. A bad
// flag gets one line on stderr and exit status 2.
//
// The client is a lean HTTP/1.1 of its own over net.Conn rather than net/http: on a small machine the
// generator's CPU is taken from the server under test, and a net/http client spends over twice what
// wrk does per request; this one, about 10-20% more. bench/loadgen_vs_wrk.py measures it against wrk.
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
