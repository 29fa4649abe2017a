package hist

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexRoundTrip(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<20; v += 1 + v/97 {
		i := index(v)
		if i < prev {
			t.Fatalf("index(%d) = %d goes backwards from %d", v, i, prev)
		}
		prev = i
		lo := lowest(i)
		if lo > v {
			t.Fatalf("lowest(index(%d)) = %d > value", v, lo)
		}
		if v >= subCount && float64(v-lo)/float64(v) > 1.0/subCount {
			t.Fatalf("value %d in bucket from %d: error %.4f over 1/%d", v, lo, float64(v-lo)/float64(v), subCount)
		}
	}
	if got := index(1 << 50); got != numBuckets-1 {
		t.Fatalf("index(2^50) = %d, want last bucket %d", got, numBuckets-1)
	}
}

func TestQuantileMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 5000)
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q)
		if d := float64(want-got) / float64(want); d < 0 || d > 1.0/subCount {
			t.Errorf("Quantile(%v) = %d, exact %d", q, got, want)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max = %d/%d, want %d/%d", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
}

func TestMergeAndEmpty(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.5) != 0 || a.Mean() != 0 {
		t.Fatal("empty histogram must report zeros")
	}
	a.Record(10)
	b.Record(1000)
	b.Record(-5)
	a.Merge(&b)
	if a.Count() != 3 || a.Min() != 0 || a.Max() != 1000 {
		t.Fatalf("after merge: %s", a.String())
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(1000, func() { h.Record(12345) }); n != 0 {
		t.Fatalf("Record allocates %v times", n)
	}
}
