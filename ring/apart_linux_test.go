package ring

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkApart times the producer and the consumer of one ring on two
// CPUs, each alone while the other waits (write: records into lines the
// consumer read on the last lap; read: records the producer wrote) and both
// at once, with the free lines ahead asked for (ask: PREFETCHW) or zeroed
// (zero: CLZERO). It shows which side pays for moving lines between the
// CPUs; package bench's Ring/limit, run beside it, shows whether the two
// CPUs share a cache. ns/record is per 72-byte record.
func BenchmarkApart(b *testing.B) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		b.Skip(err)
	}
	var cpus []int
	for c := 0; c < 1024 && len(cpus) < 2; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 || runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two CPUs")
	}
	const recLen, records = 72, 4096
	for _, way := range []struct {
		name string
		hint int // the record size PrefetchAhead is told
		ok   bool
	}{{"ask", zeroMax + 1, hasPrefetchW}, {"zero", recLen, hasCLZero}} {
		for _, part := range []string{"write", "read", "both"} {
			b.Run(way.name+"/"+part, func(b *testing.B) {
				if !way.ok {
					b.Skip("the CPU lacks the instruction")
				}
				r := newRing(b, 1<<20)
				write := func() {
					for i := range records {
						r.PrefetchAhead(4096, way.hint)
						buf, err := r.ClaimInPlace(recLen)
						if err != nil {
							panic(err) // a quarter of the ring, read before
						}
						for j := 0; j < recLen; j += 8 {
							buf[j] = byte(i)
						}
						r.Stage(recLen)
						if i%64 == 63 {
							r.Flush()
						}
					}
					r.Flush()
				}
				read := func() {
					for got := 0; got < records; {
						n, err := r.Read(func([]byte) bool { return true })
						if err != nil {
							panic(err)
						}
						got += n
					}
				}
				consumer := make(chan func())
				done := make(chan time.Duration)
				go func() {
					runtime.LockOSThread()
					if err := pinThread(cpus[1]); err != nil {
						b.Error(err)
					}
					for f := range consumer {
						t0 := time.Now()
						f()
						done <- time.Since(t0)
					}
				}()
				defer close(consumer)
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				if err := pinThread(cpus[0]); err != nil {
					b.Fatal(err)
				}
				defer unix.SchedSetaffinity(0, &set)
				var spent time.Duration
				n := 0
				for b.Loop() {
					write() // the lines the next round writes into
					consumer <- read
					<-done
					switch part {
					case "write":
						t0 := time.Now()
						write()
						spent += time.Since(t0)
						consumer <- read
						<-done
					case "read":
						write()
						consumer <- read
						spent += <-done
					case "both":
						t0 := time.Now()
						consumer <- read
						write()
						<-done
						spent += time.Since(t0)
					}
					n += records
				}
				b.ReportMetric(float64(spent.Nanoseconds())/float64(n), "ns/record")
			})
		}
	}
}

// pinThread restricts the calling thread to cpu.
func pinThread(cpu int) error {
	var one unix.CPUSet
	one.Set(cpu)
	return unix.SchedSetaffinity(0, &one)
}
