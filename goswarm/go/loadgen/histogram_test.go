package main

import (
	"math"
	"math/rand"
	"sort"
	"testing"
	"time"
)

// precision is the histogram's promise: a percentile within 1% of the exact one.
const precision = 0.01

func TestBucketsCoverValuesWithinPrecision(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 100000; i++ {
		v := time.Duration(math.Exp(rng.Float64() * math.Log(float64(maxValue))))
		mid := bucketMid(bucketOf(v))
		if v < subCount && mid != v {
			t.Fatalf("%d ns should have a bucket of its own, got %d", v, mid)
		}
		if err := math.Abs(float64(mid-v)) / float64(v); err > precision {
			t.Fatalf("%v lands in a bucket whose midpoint %v is %.2f%% away", v, mid, err*100)
		}
	}
}

func TestBucketsAreOrdered(t *testing.T) {
	for i := 1; i < numBuckets; i++ {
		if bucketMid(i) <= bucketMid(i-1) {
			t.Fatalf("bucket %d (%v) is not above bucket %d (%v)", i, bucketMid(i), i-1, bucketMid(i-1))
		}
	}
	if got := bucketOf(maxValue); got != numBuckets-1 {
		t.Fatalf("the largest value is in bucket %d of %d", got, numBuckets)
	}
	if bucketOf(-1) != 0 || bucketOf(10*maxValue) != numBuckets-1 {
		t.Fatal("out-of-range values are not clamped")
	}
}

func TestPercentilesMatchSortedReference(t *testing.T) {
	distributions := []struct {
		name string
		draw func(*rand.Rand) time.Duration
	}{
		{"uniform 0-5ms", func(r *rand.Rand) time.Duration { return time.Duration(r.Int63n(int64(5 * time.Millisecond))) }},
		{"log-uniform 1µs-10s", func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(math.Log(1e3) + r.Float64()*math.Log(1e7)))
		}},
		{"long tail", func(r *rand.Rand) time.Duration {
			return time.Duration(100e3 * math.Exp(r.NormFloat64()*1.5))
		}},
		{"few distinct values", func(r *rand.Rand) time.Duration { return time.Duration(1+r.Intn(3)) * time.Millisecond }},
	}
	for _, d := range distributions {
		for _, n := range []int{1, 7, 1000, 100000} {
			rng := rand.New(rand.NewSource(int64(n)))
			var h histogram
			values := make([]time.Duration, n)
			for i := range values {
				values[i] = d.draw(rng)
				h.record(values[i])
			}
			sort.Slice(values, func(i, j int) bool { return values[i] < values[j] })
			for _, q := range []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
				want := nearestRank(values, q)
				got := h.percentile(q)
				if math.Abs(float64(got-want)) > precision*float64(want) {
					t.Errorf("%s, n=%d: p%g = %v, want %v within 1%%", d.name, n, q*100, got, want)
				}
			}
			if h.minV != values[0] || h.maxV != values[n-1] {
				t.Errorf("%s, n=%d: min/max %v/%v, want %v/%v", d.name, n, h.minV, h.maxV, values[0], values[n-1])
			}
		}
	}
}

func nearestRank(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func TestMergeEqualsRecordingTogether(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var a, b, both histogram
	for i := 0; i < 10000; i++ {
		v := time.Duration(rng.Int63n(int64(time.Second)))
		if i%3 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
		both.record(v)
	}
	a.merge(&b)
	if a != both {
		t.Fatal("merging two histograms differs from recording into one")
	}
}

func TestEmptyHistogram(t *testing.T) {
	var h histogram
	if h.percentile(0.5) != 0 || h.mean() != 0 {
		t.Fatal("an empty histogram should report zeros")
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(histogram)
	if allocs := testing.AllocsPerRun(1000, func() { h.record(1234567) }); allocs != 0 {
		t.Fatalf("record allocates %.0f times", allocs)
	}
}
