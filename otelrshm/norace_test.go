//go:build !race

package otelrshm

const raceEnabled = false
