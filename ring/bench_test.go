package ring

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

var benchSizes = []int{8, 64, 256, 1024}

// BenchmarkClaimCommit measures the producer: claim, fill the first byte,
// commit. Every time the ring is full, one Read empties it, so the time per
// record includes 1/k of a drain for k records per lap.
func BenchmarkClaimCommit(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			r := newRing(b, 1<<16)
			skip := func([]byte) bool { return true }
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				buf, err := r.Claim(size)
				if err == ErrFull {
					r.Read(skip)
					buf, err = r.Claim(size)
				}
				if err != nil {
					b.Fatal(err)
				}
				buf[0] = 1
				r.Commit(size)
			}
		})
	}
}

// BenchmarkRead measures the consumer: each iteration reads one record from
// a ring refilled (outside the timer's concern, amortized) once per lap.
func BenchmarkRead(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			r := newRing(b, 1<<16)
			payload := make([]byte, size)
			sum := 0
			one := func(rec []byte) bool { sum += int(rec[0]); return false }
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				n, err := r.Read(one)
				if n == 0 && err == nil {
					for r.Write(payload) == nil {
					}
					n, err = r.Read(one)
				}
				if n != 1 || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip is one thread doing claim+commit+read per record, the
// ring's cost without any cache-line transfer.
func BenchmarkRoundTrip(b *testing.B) {
	r := newRing(b, 1<<16)
	read := func([]byte) bool { return true }
	b.ReportAllocs()
	for b.Loop() {
		buf, err := r.Claim(64)
		if err != nil {
			b.Fatal(err)
		}
		buf[0] = 1
		r.Commit(64)
		r.Read(read)
	}
}

// BenchmarkGoroutines streams 64-byte records from a producer goroutine to
// the benchmark goroutine with the Yield strategy: throughput including
// cache-line transfers between cores (not pinned; GOMAXPROCS printed).
func BenchmarkGoroutines(b *testing.B) {
	r := newRing(b, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := b.N
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range n {
			buf, err := r.ClaimWait(ctx, Yield{}, 64)
			if err != nil {
				return
			}
			buf[0] = 1
			r.Commit(64)
		}
	}()
	b.ReportAllocs()
	b.SetBytes(64)
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
	for got := 0; got < n; {
		k, err := r.ReadWait(ctx, Yield{}, func([]byte) bool { return true })
		if err != nil {
			b.Fatal(err)
		}
		got += k
	}
	wg.Wait()
}
