package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHistIndexBounds(t *testing.T) {
	// Every value lands in a bucket whose bounds hold it, buckets are
	// contiguous and in order, and no bucket is wider than 1/128 of its
	// lowest value (beyond the exact range).
	prevHi := int64(-1)
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d after %d", i, lo, prevHi)
		}
		if hi < lo {
			t.Fatalf("bucket %d: %d..%d", i, lo, hi)
		}
		if lo >= histSub && float64(hi-lo+1)/float64(lo) > 1.0/128 {
			t.Fatalf("bucket %d (%d..%d) wider than 1/128", i, lo, hi)
		}
		for _, v := range []int64{lo, hi, lo + (hi-lo)/2} {
			if got := histIndex(v); got != i {
				t.Fatalf("histIndex(%d) = %d, want %d", v, got, i)
			}
		}
		prevHi = hi
	}
	if prevHi != histMaxValue {
		t.Fatalf("last bucket ends at %d, want %d", prevHi, histMaxValue)
	}
	if histIndex(math.MaxInt64) != histBuckets-1 {
		t.Errorf("huge value not in the last bucket")
	}
}

func TestHistogramQuantiles(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform 100us-10ms", func(r *rand.Rand) time.Duration {
			return 100*time.Microsecond + time.Duration(r.Int64N(int64(10*time.Millisecond)))
		}},
		{"log-normal around 1ms", func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*0.8 + math.Log(1e6)))
		}},
		{"bimodal with a slow tail", func(r *rand.Rand) time.Duration {
			if r.IntN(100) == 0 {
				return time.Duration(50e6 + r.Int64N(50e6))
			}
			return time.Duration(200e3 + r.Int64N(300e3))
		}},
		{"small exact values", func(r *rand.Rand) time.Duration { return time.Duration(r.IntN(200)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			samples := make([]time.Duration, 20000)
			for i := range samples {
				samples[i] = tc.gen(r)
				h.Record(samples[i])
			}
			slices.Sort(samples)
			s := h.Snapshot()
			if s.N != uint64(len(samples)) {
				t.Fatalf("N = %d", s.N)
			}
			for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
				exact := samples[int(math.Ceil(q*float64(len(samples))))-1]
				got := s.Quantile(q)
				if got < exact || float64(got-exact) > float64(exact)/128+1 {
					t.Errorf("q%.3f = %v, exact %v (more than 1/128 above, or below)", q, got, exact)
				}
			}
			if time.Duration(s.Max) != samples[len(samples)-1] {
				t.Errorf("max %v, want %v", time.Duration(s.Max), samples[len(samples)-1])
			}
			var sum time.Duration
			for _, v := range samples {
				sum += v
			}
			if s.Mean() != sum/time.Duration(len(samples)) {
				t.Errorf("mean %v, want %v", s.Mean(), sum/time.Duration(len(samples)))
			}
		})
	}
}

func TestHistogramSubAndConcurrency(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				h.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	first := h.Snapshot()
	if first.N != 8000 || first.Max != int64(7999*time.Microsecond) {
		t.Fatalf("N %d max %d", first.N, first.Max)
	}
	for range 10 {
		h.Record(time.Second)
	}
	d := h.Snapshot().Sub(first)
	if d.N != 10 || d.Quantile(0.5) < time.Second || d.Quantile(0.5) > time.Second+time.Second/128 {
		t.Fatalf("interval N %d p50 %v", d.N, d.Quantile(0.5))
	}
	if (&HistogramSnapshot{}).Quantile(0.99) != 0 || (&HistogramSnapshot{}).Mean() != 0 {
		t.Error("empty histogram not zero")
	}
}
