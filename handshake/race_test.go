//go:build race

package handshake

import "testing"

// skipFaultUnderRace skips a test that truncates a region: under the race
// detector sync/atomic operations run in the race runtime's C code, where
// a fault (a truncated region) cannot become a Go panic, and the process
// dies. Such tests run in the plain pass of make test.
func skipFaultUnderRace(t *testing.T) {
	t.Helper()
	t.Skip("a fault in the race runtime's atomics cannot be recovered; runs without -race")
}

// raceEnabled: the race detector slows every operation several times.
const raceEnabled = true
