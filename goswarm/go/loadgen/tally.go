package main

import (
	"sync"
	"time"
)

// tally is what a stretch of requests came to.
type tally struct {
	requests uint64
	ok       uint64
	failures map[outcome]uint64 // non-2xx answers and transport errors
	latency  histogram          // answered requests only: a refused dial has no latency worth mixing in
}

func (t *tally) add(o outcome, latency time.Duration) {
	t.requests++
	if o.ok() {
		t.ok++
	} else {
		if t.failures == nil {
			t.failures = make(map[outcome]uint64)
		}
		t.failures[o]++
	}
	if o.answered() {
		t.latency.record(latency)
	}
}

func (t *tally) merge(o *tally) {
	t.requests += o.requests
	t.ok += o.ok
	for kind, n := range o.failures {
		if t.failures == nil {
			t.failures = make(map[outcome]uint64)
		}
		t.failures[kind] += n
	}
	t.latency.merge(&o.latency)
}

// reset empties t but keeps its map, so that a user who keeps failing the same way stops allocating.
func (t *tally) reset() {
	for kind := range t.failures {
		delete(t.failures, kind)
	}
	t.requests, t.ok = 0, 0
	t.latency = histogram{}
}

// errorCounts is the "errors" object of the JSON lines.
func (t *tally) errorCounts() map[string]uint64 {
	counts := make(map[string]uint64, len(t.failures))
	for kind, n := range t.failures {
		counts[kind.name()] += n
	}
	return counts
}

// recorder is one user's tally for the current interval. The reporter drains it while the user adds
// to it; a lock per user, rather than one for all, means they almost never wait for each other.
type recorder struct {
	mu    sync.Mutex
	tally tally
}

func (r *recorder) add(o outcome, latency time.Duration) {
	r.mu.Lock()
	r.tally.add(o, latency)
	r.mu.Unlock()
}

// drainInto moves what r has counted into t.
func (r *recorder) drainInto(t *tally) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tally.requests == 0 {
		return
	}
	t.merge(&r.tally)
	r.tally.reset()
}
