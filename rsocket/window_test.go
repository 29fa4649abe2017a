package rsocket

import "testing"

// TestWindowShared: with a zero Prefetch the initial window and the byte
// budget are the connection's, shared by its open streams, never below 2
// payloads; a fixed Prefetch is what it says.
func TestWindowShared(t *testing.T) {
	s := settings{prefetchB: DefaultPrefetchBytes}
	for _, tc := range []struct {
		bytes, n int64
		streams  int
		want     int
	}{
		{0, 0, 1, DefaultPrefetch},
		{0, 0, 0, DefaultPrefetch},
		{0, 0, 16, DefaultPrefetch / 16},
		{0, 0, 64, 2},
		{64 * 100, 100, 1, MaxPrefetch},
		{(1 << 20) * 10, 10, 1, int(DefaultPrefetchBytes / (1<<20 + itemOverhead))},
		{(256 << 10) * 10, 10, 4, int(DefaultPrefetchBytes / 4 / (256<<10 + itemOverhead))},
		{(256 << 10) * 10, 10, 64, 2},
	} {
		if got := s.window(tc.bytes, tc.n, tc.streams); got != tc.want {
			t.Errorf("window(%d bytes in %d, %d streams) = %d; want %d", tc.bytes, tc.n, tc.streams, got, tc.want)
		}
	}
	fixed := settings{prefetch: 5, prefetchB: DefaultPrefetchBytes}
	if got := fixed.window(1<<30, 1, 64); got != 5 {
		t.Errorf("a fixed Prefetch of 5 gave %d", got)
	}
	if got := fixed.initialWindow(64); got != 5 {
		t.Errorf("a fixed Prefetch of 5 started at %d", got)
	}
}
