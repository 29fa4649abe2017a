//go:build !race

package shmtransport

import "testing"

// skipFaultUnderRace skips a test that truncates a region under the race
// detector (see race_test.go); without it, it does nothing.
func skipFaultUnderRace(*testing.T) {}

// skipAllocsUnderRace skips an allocation budget under the race detector,
// which allocates for its own bookkeeping; without it, it does nothing.
func skipAllocsUnderRace(*testing.T) {}
