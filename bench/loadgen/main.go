// Command loadgen sends GETs to one URL from several concurrent clients at a fixed total rate until
// SIGTERM/SIGINT or its stdin closes, then prints one JSON line: how many requests got a 2xx, another
// status, or no answer (connection error or timeout), and the bursts of failures with their times.
//
//	loadgen -url http://127.0.0.1:16767/accounts/10000 -clients 8 -rate 50   # until Ctrl-C, SIGTERM or EOF on stdin
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"
)

type result struct {
	start  time.Time
	status int   // 0: no answer
	err    error // set when status is 0
}

// burst is a run of failed requests with no success between them (ordered by start time).
type burst struct {
	Start  float64 `json:"start"`  // unix seconds: the first failed request's start
	End    float64 `json:"end"`    // the next successful request's start (or the last failure's, at the end)
	Failed int     `json:"failed"` // requests in the burst
	First  string  `json:"first"`  // what the first one got
}

type report struct {
	Requests   int     `json:"requests"`
	OK         int     `json:"ok"`
	Non2xx     int     `json:"non2xx"`
	ConnErrors int     `json:"conn_errors"` // refused, reset, EOF...
	Timeouts   int     `json:"timeouts"`
	Failed     int     `json:"failed"`
	Outage     float64 `json:"outage_s"` // sum of the bursts' End - Start
	Seconds    float64 `json:"seconds"`
	Bursts     []burst `json:"bursts"`
}

func main() {
	url := flag.String("url", "", "the URL to GET")
	clients := flag.Int("clients", 8, "concurrent clients")
	rate := flag.Float64("rate", 50, "total requests per second (0: as fast as the clients go)")
	timeout := flag.Duration("timeout", 2*time.Second, "per-request timeout")
	keepAlive := flag.Bool("keepalive", true, "reuse connections (false: a new connection per request)")
	flag.Parse()
	if *url == "" || *clients < 1 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "usage: loadgen -url URL [-clients N] [-rate R] [-timeout D] [-keepalive=false]")
		os.Exit(2)
	}
	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{
		DisableKeepAlives: !*keepAlive, MaxIdleConnsPerHost: *clients,
	}}

	stop := make(chan struct{})
	go func() { // stop on a signal, or when whoever started us closes our stdin
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
		eof := make(chan struct{})
		go func() { io.Copy(io.Discard, os.Stdin); close(eof) }()
		select {
		case <-signals:
		case <-eof:
		}
		close(stop)
	}()

	tokens := make(chan struct{}) // one per request; unbuffered: a tick that finds every client busy is dropped
	go func() {
		defer close(tokens)
		if *rate == 0 {
			for {
				select {
				case tokens <- struct{}{}:
				case <-stop:
					return
				}
			}
		}
		ticker := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				select {
				case tokens <- struct{}{}:
				default:
				}
			case <-stop:
				return
			}
		}
	}()

	began := time.Now()
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tokens {
				r := result{start: time.Now()}
				resp, err := client.Get(*url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil {
						r.status = resp.StatusCode
					}
				}
				r.err = err
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	out := summarize(results)
	out.Seconds = time.Since(began).Seconds()
	json.NewEncoder(os.Stdout).Encode(out)
}

func summarize(results []result) report {
	sort.Slice(results, func(i, j int) bool { return results[i].start.Before(results[j].start) })
	out := report{Requests: len(results), Bursts: []burst{}}
	var open *burst
	for _, r := range results {
		at := float64(r.start.UnixNano()) / 1e9
		var timeout interface{ Timeout() bool }
		switch {
		case r.status >= 200 && r.status < 300:
			out.OK++
			if open != nil {
				open.End = at
				out.Bursts = append(out.Bursts, *open)
				open = nil
			}
			continue
		case r.status != 0:
			out.Non2xx++
		case errors.As(r.err, &timeout) && timeout.Timeout():
			out.Timeouts++
		default:
			out.ConnErrors++
		}
		out.Failed++
		if open == nil {
			what := fmt.Sprintf("HTTP %d", r.status)
			if r.status == 0 {
				what = r.err.Error()
			}
			open = &burst{Start: at, First: what}
		}
		open.End = at
		open.Failed++
	}
	if open != nil {
		out.Bursts = append(out.Bursts, *open)
	}
	for _, b := range out.Bursts {
		out.Outage += b.End - b.Start
	}
	return out
}
