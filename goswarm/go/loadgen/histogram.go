package main

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2^subBits nanoseconds get a bucket each,
// and every power of two above is split into 2^(subBits-1) equal buckets. A bucket is then at most
// 1/64 of its lower bound wide, so reporting its midpoint is off by at most 0.8%. Recording is an
// index computation and an increment: nothing allocates, which is what keeps a hot request loop cheap.
const (
	subBits    = 7
	subCount   = 1 << subBits   // 128 exact buckets: 0..127 ns
	halfCount  = subCount / 2   // buckets per power of two above them
	maxBits    = 37             // 2^37 ns is 137 s: longer than any sane request timeout
	maxValue   = 1<<maxBits - 1 // longer latencies are clamped to this
	numBuckets = subCount + (maxBits-subBits)*halfCount
)

// The fields that every record touches come first, to share a cache line with the tally around them.
type histogram struct {
	count      uint64
	sum        time.Duration
	minV, maxV time.Duration // exact, unlike the buckets
	counts     [numBuckets]uint64
}

func bucketOf(v time.Duration) int {
	if v < 0 {
		v = 0
	}
	if v > maxValue {
		v = maxValue
	}
	u := uint64(v)
	if u < subCount {
		return int(u)
	}
	shift := bits.Len64(u) - subBits // u>>shift is in [halfCount, subCount)
	return subCount + (shift-1)*halfCount + int(u>>shift) - halfCount
}

// bucketMid is the value a bucket stands for in percentiles: its midpoint.
func bucketMid(i int) time.Duration {
	if i < subCount {
		return time.Duration(i)
	}
	shift := (i-subCount)/halfCount + 1
	low := uint64(halfCount+(i-subCount)%halfCount) << shift
	return time.Duration(low + (uint64(1)<<shift)/2)
}

func (h *histogram) record(v time.Duration) {
	h.counts[bucketOf(v)]++
	if h.count == 0 || v < h.minV {
		h.minV = v
	}
	if v > h.maxV {
		h.maxV = v
	}
	h.count++
	h.sum += v
}

func (h *histogram) merge(o *histogram) {
	if o.count == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.minV < h.minV {
		h.minV = o.minV
	}
	if o.maxV > h.maxV {
		h.maxV = o.maxV
	}
	h.count += o.count
	h.sum += o.sum
}

// percentile is the nearest-rank percentile (q in [0,1]) within the bucket precision, kept inside the
// exact min and max so that p100 is the true maximum and no percentile is below the minimum.
func (h *histogram) percentile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return clamp(bucketMid(i), h.minV, h.maxV)
		}
	}
	return h.maxV
}

func (h *histogram) mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return h.sum / time.Duration(h.count)
}

func clamp(v, lo, hi time.Duration) time.Duration {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
