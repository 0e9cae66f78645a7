package main

import (
	"encoding/json"
	"io"
	"math"
	"time"
)

type tickLine struct {
	Type     string            `json:"type"`
	T        float64           `json:"t"`
	Users    int64             `json:"users"`
	Requests uint64            `json:"requests"`
	OK       uint64            `json:"ok"`
	Errors   map[string]uint64 `json:"errors"`
	Latency  tickLatency       `json:"latency_ms"`
}

type tickLatency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type summaryLine struct {
	Type     string            `json:"type"`
	Requests uint64            `json:"requests"`
	OK       uint64            `json:"ok"`
	Duration float64           `json:"duration_s"`
	RPS      float64           `json:"rps"`
	Errors   map[string]uint64 `json:"errors"`
	Latency  summaryLatency    `json:"latency_ms"`
	Users    int               `json:"users"`
}

type summaryLatency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// reporter turns the users' recorders into JSON lines: a tick per interval, a summary at the end.
type reporter struct {
	out       *json.Encoder
	recorders []*recorder
	began     time.Time
	interval  tally // drained from the recorders, emptied after each tick
	total     tally
}

func newReporter(out io.Writer, recorders []*recorder, began time.Time) *reporter {
	return &reporter{out: json.NewEncoder(out), recorders: recorders, began: began}
}

func (r *reporter) drain() {
	for _, rec := range r.recorders {
		rec.drainInto(&r.interval)
	}
}

// writeTick reports the interval drained so far, and starts the next.
func (r *reporter) writeTick(activeUsers int64) error {
	h := &r.interval.latency
	line := tickLine{
		Type:     "tick",
		T:        seconds(time.Since(r.began)),
		Users:    activeUsers,
		Requests: r.interval.requests,
		OK:       r.interval.ok,
		Errors:   r.interval.errorCounts(),
		Latency: tickLatency{
			P50: millis(h.percentile(0.50)),
			P95: millis(h.percentile(0.95)),
			P99: millis(h.percentile(0.99)),
			Max: millis(h.maxV),
		},
	}
	r.total.merge(&r.interval)
	r.interval.reset()
	return r.out.Encode(line)
}

// tick reports the requests completed since the previous tick.
func (r *reporter) tick(activeUsers int64) error {
	r.drain()
	return r.writeTick(activeUsers)
}

// finish reports the last, partial interval (unless there is nothing to say) and then the whole run.
func (r *reporter) finish(activeUsers int64, users int) error {
	r.drain()
	if r.interval.requests > 0 || activeUsers > 0 {
		if err := r.writeTick(activeUsers); err != nil {
			return err
		}
	}
	elapsed := time.Since(r.began)
	h := &r.total.latency
	return r.out.Encode(summaryLine{
		Type:     "summary",
		Requests: r.total.requests,
		OK:       r.total.ok,
		Duration: seconds(elapsed),
		RPS:      math.Round(float64(r.total.requests)/elapsed.Seconds()*10) / 10,
		Errors:   r.total.errorCounts(),
		Latency: summaryLatency{
			Min:  millis(h.minV),
			Mean: millis(h.mean()),
			P50:  millis(h.percentile(0.50)),
			P90:  millis(h.percentile(0.90)),
			P95:  millis(h.percentile(0.95)),
			P99:  millis(h.percentile(0.99)),
			Max:  millis(h.maxV),
		},
		Users: users,
	})
}

// millis rounds to the microsecond: finer would be noise, given the histogram's 1% buckets.
func millis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1e3) / 1e3 }
