//go:build !race

package handshake

import "testing"

// skipFaultUnderRace skips a test that truncates a region under the race
// detector (see race_test.go); without it, it does nothing.
func skipFaultUnderRace(*testing.T) {}

// raceEnabled: see race_test.go.
const raceEnabled = false
