//go:build race

package otelrshm

const raceEnabled = true
