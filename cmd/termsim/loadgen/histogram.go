package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records latencies in log-linear buckets, the layout of
// HdrHistogram: values below 256 ns have a bucket each; above, every power
// of two is split into 128 equal buckets, so a bucket is at most 1/128 of
// its values wide (quantiles within 0.8%), whatever the range. It holds
// counts only, never the samples: recording is one atomic add, memory is
// fixed (about 35 KB up to 2^40 ns, 18 minutes; longer values go to the
// last bucket and still set Max exactly). A Histogram is safe for
// concurrent use; read it through Snapshot.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

const (
	histSubBits  = 8                // 256 exact values, then 128 per power of two
	histSub      = 1 << histSubBits // 256
	histHalf     = histSub / 2      // 128
	histMaxExp   = 40               // values up to 2^40 ns
	histBuckets  = histSub + (histMaxExp-histSubBits)*histHalf
	histMaxValue = int64(1)<<histMaxExp - 1
)

// histIndex returns the bucket of v (nanoseconds, >= 0).
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	if v > histMaxValue {
		v = histMaxValue
	}
	k := bits.Len64(uint64(v)) - 1 // highest bit, >= histSubBits
	shift := k - (histSubBits - 1)
	return histSub + (k-histSubBits)*histHalf + int(v>>shift) - histHalf
}

// histBounds returns the lowest and highest value bucket i holds.
func histBounds(i int) (lo, hi int64) {
	if i < histSub {
		return int64(i), int64(i)
	}
	j := i - histSub
	k := j/histHalf + histSubBits
	m := int64(j%histHalf + histHalf)
	shift := k - (histSubBits - 1)
	lo = m << shift
	return lo, lo + int64(1)<<shift - 1
}

// Record adds one latency (negative values count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Snapshot copies the histogram's counts (while recording goes on, the copy
// may hold a sample more in its counts than in its total, never fewer).
func (h *Histogram) Snapshot() *HistogramSnapshot {
	s := &HistogramSnapshot{Counts: make([]uint64, histBuckets)}
	s.N = h.n.Load()
	s.Sum = h.sum.Load()
	s.Max = h.max.Load()
	var n uint64
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		n += s.Counts[i]
	}
	s.N = max(s.N, n)
	return s
}

// HistogramSnapshot is a histogram's counts at one moment.
type HistogramSnapshot struct {
	Counts []uint64 // samples per bucket
	N      uint64   // samples
	Sum    int64    // nanoseconds
	Max    int64    // nanoseconds (the exact largest sample)
}

// Sub returns what was recorded between prev and s (for per-second
// figures). Max is then the highest bucket's upper bound, capped by s.Max.
func (s *HistogramSnapshot) Sub(prev *HistogramSnapshot) *HistogramSnapshot {
	d := &HistogramSnapshot{Counts: make([]uint64, len(s.Counts)), Sum: s.Sum - prev.Sum}
	top := -1
	for i := range s.Counts {
		d.Counts[i] = s.Counts[i] - prev.Counts[i]
		d.N += d.Counts[i]
		if d.Counts[i] > 0 {
			top = i
		}
	}
	if top >= 0 {
		_, hi := histBounds(top)
		d.Max = min(hi, s.Max)
	}
	return d
}

// Quantile returns the latency below or at which a fraction q (0 to 1) of
// the samples lie: the upper bound of the bucket holding the sample of
// rank ceil(q*N), capped by Max (HdrHistogram's "highest equivalent
// value"). 0 for an empty histogram.
func (s *HistogramSnapshot) Quantile(q float64) time.Duration {
	if s.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(s.N)))
	rank = min(max(rank, 1), s.N)
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			_, hi := histBounds(i)
			return time.Duration(min(hi, s.Max))
		}
	}
	return time.Duration(s.Max)
}

// Mean returns the average latency (0 when empty).
func (s *HistogramSnapshot) Mean() time.Duration {
	if s.N == 0 {
		return 0
	}
	return time.Duration(s.Sum / int64(s.N))
}

// Latencies are a histogram's summary figures.
type Latencies struct {
	Count uint64        `json:"count"`    // samples
	Mean  time.Duration `json:"mean_ns"`  // average
	P50   time.Duration `json:"p50_ns"`   // median
	P90   time.Duration `json:"p90_ns"`   // 90th percentile
	P99   time.Duration `json:"p99_ns"`   // 99th percentile
	P999  time.Duration `json:"p99_9_ns"` // 99.9th percentile
	Max   time.Duration `json:"max_ns"`   // exact maximum
}

// Summary returns the count, mean, p50, p90, p99, p99.9 and max.
func (s *HistogramSnapshot) Summary() Latencies {
	return Latencies{Count: s.N, Mean: s.Mean(), P50: s.Quantile(0.50), P90: s.Quantile(0.90),
		P99: s.Quantile(0.99), P999: s.Quantile(0.999), Max: time.Duration(s.Max)}
}

// HistogramBucket is one non-empty bucket of a histogram: the latencies
// from Lo to Hi nanoseconds, and how many there were.
type HistogramBucket struct {
	Lo    int64  `json:"lo_ns"`
	Hi    int64  `json:"hi_ns"`
	Count uint64 `json:"count"`
}

// Buckets returns the non-empty buckets, lowest first: the whole
// distribution, to merge runs or draw it (HdrHistogram's bucket layout).
func (s *HistogramSnapshot) Buckets() []HistogramBucket {
	out := []HistogramBucket{}
	for i, c := range s.Counts {
		if c > 0 {
			lo, hi := histBounds(i)
			out = append(out, HistogramBucket{Lo: lo, Hi: hi, Count: c})
		}
	}
	return out
}
