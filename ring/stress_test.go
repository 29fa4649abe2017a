package ring

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"
)

// splitmix64, the record generator of the stress tests: the length and
// every byte of record seq follow from seq, so the consumer checks both.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// recordLen is mostly small, sometimes up to max, so the ring wraps at
// every offset.
func recordLen(seq uint64, max int) int {
	h := mix(seq)
	if h&7 == 0 {
		return int(h >> 8 % uint64(max+1))
	}
	return int(h >> 8 % 64)
}

// fillRecord writes seq's content: the sequence number in the first 8 bytes
// (when there is room), then a pattern derived from seq.
func fillRecord(p []byte, seq uint64) {
	var w [8]byte
	for i := 0; i < len(p); i += 8 {
		v := mix(seq ^ uint64(i)<<40)
		if i == 0 {
			v = seq
		}
		binary.LittleEndian.PutUint64(w[:], v)
		copy(p[i:], w[:])
	}
}

// checkRecord reports how p differs from record seq, or "".
func checkRecord(p []byte, seq uint64, max int) string {
	if want := recordLen(seq, max); len(p) != want {
		return fmt.Sprintf("record %d: length %d; want %d", seq, len(p), want)
	}
	var w [8]byte
	for i := 0; i < len(p); i += 8 {
		v := mix(seq ^ uint64(i)<<40)
		if i == 0 {
			v = seq
		}
		binary.LittleEndian.PutUint64(w[:], v)
		if n := copy(w[:], w[:min(8, len(p)-i)]); string(p[i:i+n]) != string(w[:n]) {
			return fmt.Sprintf("record %d: bytes %d..%d = %x; want %x", seq, i, i+n, p[i:i+n], w[:n])
		}
	}
	return ""
}

// stressCount scales a record count for -short and -race.
func stressCount(full int) int {
	if testing.Short() || raceEnabled {
		return full / 10
	}
	return full
}

// TestStress runs a producer and a consumer goroutine over one small ring
// for many laps, with every strategy, and checks every record.
func TestStress(t *testing.T) {
	const capacity = 4096
	tests := []struct {
		name    string
		n       int
		p, c    func(b *Buffer) Strategy
		batched bool
	}{
		{"Yield", stressCount(1_000_000), func(*Buffer) Strategy { return Yield{} }, func(*Buffer) Strategy { return Yield{} }, false},
		{"Spin", stressCount(300_000), func(*Buffer) Strategy { return Spin{} }, func(*Buffer) Strategy { return Spin{Pauses: 4} }, true},
		{"Backoff", stressCount(50_000), func(*Buffer) Strategy { return &Backoff{} }, func(*Buffer) Strategy { return &Backoff{} }, false},
		{"Block", stressCount(300_000), func(b *Buffer) Strategy { return Block{Ring: b, Space: true} }, func(b *Buffer) Strategy { return Block{Ring: b} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRing(t, capacity)
			max := b.MaxRecord()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := tt.p(b)
				for seq := uint64(0); seq < uint64(tt.n); seq++ {
					n := recordLen(seq, max)
					if tt.batched {
						b.PrefetchAhead(1024, n) // small records: free lines zeroed where the CPU has CLZERO
					}
					buf, err := b.Claim(n)
					if err == ErrFull {
						buf, err = b.ClaimWait(ctx, s, n) // flushes the staged records
					}
					if err != nil {
						t.Errorf("record %d: %v", seq, err)
						cancel()
						return
					}
					fillRecord(buf, seq)
					if tt.batched && seq%4 != 3 {
						b.Stage(n)
					} else {
						b.Commit(n)
					}
				}
				b.CloseWrite()
			}()
			s := tt.c(b)
			var seq uint64
			for {
				_, err := b.ReadWait(ctx, s, func(rec []byte) bool {
					if msg := checkRecord(rec, seq, max); msg != "" {
						t.Error(msg)
						cancel()
						return false
					}
					seq++
					return true
				})
				if err == ErrClosed {
					break
				}
				if err != nil {
					t.Fatalf("after %d records: %v", seq, err)
				}
			}
			wg.Wait()
			if seq != uint64(tt.n) {
				t.Errorf("read %d records; want %d", seq, tt.n)
			}
			if b.cStats.Late != 0 || b.pStats.Late != 0 {
				t.Errorf("park timeouts with work pending: consumer %d, producer %d", b.cStats.Late, b.pStats.Late)
			}
			t.Logf("%d records, %d laps; consumer parks %d, producer parks %d, wakes %d/%d",
				tt.n, b.producer.Load()/capacity, b.cStats.Parks, b.pStats.Parks, b.pStats.Wakes, b.cStats.Wakes)
		})
	}
}
