// Package hist records latencies in a log-linear histogram, in the manner of
// HdrHistogram: every power of two is split into 2^subBits equal buckets, so a
// recorded value keeps about 3 significant bits of relative precision
// (worst case 1/2^subBits = 0.8%) from 1 to 2^maxExp, in a fixed array that
// Record fills without allocating.
package hist

import (
	"fmt"
	"math"
	"math/bits"
)

const (
	subBits    = 7
	subCount   = 1 << subBits
	maxExp     = 44 // values up to 2^44 (about 4.8 hours in ns)
	numBuckets = (maxExp - subBits + 1) * subCount
)

// Histogram counts values. The zero value is empty and ready.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	min    int64
	max    int64
	sum    float64
}

// index maps v >= 0 to its bucket. Values below subCount have their own
// bucket each; above, the top subBits+1 bits select the bucket.
func index(v int64) int {
	if v < subCount {
		return int(v)
	}
	if v >= 1<<maxExp {
		return numBuckets - 1
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1))
	shift := e - subBits
	return (shift+1)*subCount + int(uint64(v)>>uint(shift)) - subCount
}

// lowest returns the smallest value that maps to bucket i.
func lowest(i int) int64 {
	if i < subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	sub := i%subCount + subCount
	return int64(sub) << uint(shift)
}

// Record adds one value; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[index(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value (exact).
func (h *Histogram) Max() int64 { return h.max }

// Min is the smallest recorded value (exact).
func (h *Histogram) Min() int64 { return h.min }

// Mean is the average of the recorded values.
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q in [0, 1]: the lowest value of the
// bucket holding the ceil(q*n)-th smallest value, clamped to [Min, Max].
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := lowest(i)
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// Merge adds the counts of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Reset empties the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }

// String summarizes the distribution.
func (h *Histogram) String() string {
	return fmt.Sprintf("n=%d p50=%d p90=%d p99=%d p99.9=%d max=%d",
		h.n, h.Quantile(0.5), h.Quantile(0.9), h.Quantile(0.99), h.Quantile(0.999), h.max)
}
