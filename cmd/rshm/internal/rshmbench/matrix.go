package rshmbench

import (
	"fmt"
	"strings"
	"time"
)

// Transport is one column of the comparison.
type Transport uint8

const (
	SHMSpin    Transport = iota // rshm over shared memory, rshm.WaitSpin
	SHMDefault                  // rshm over shared memory, rshm.WaitDefault (a zero Config's)
	SHMBackoff                  // rshm over shared memory, rshm.WaitBackoff
	SHMBlock                    // rshm over shared memory, rshm.WaitBlock
	RSocketTCP                  // rshm's RSocket over TCP (rshm.TCPOnly)
	RawTCP                      // length-prefixed echo over a TCP socket
	RawUnix                     // length-prefixed echo over a Unix socket
	GRPCTCP                     // gRPC-go over TCP (the rshm-grpc binary)
	GRPCUnix                    // gRPC-go over a Unix socket (the rshm-grpc binary)
	numTransports
)

var transportNames = [numTransports]string{
	SHMSpin: "rshm-shm-spin", SHMDefault: "rshm-shm-default", SHMBackoff: "rshm-shm-backoff", SHMBlock: "rshm-shm-block",
	RSocketTCP: "rshm-tcp", RawTCP: "raw-tcp", RawUnix: "raw-unix",
	GRPCTCP: "grpc-tcp", GRPCUnix: "grpc-unix",
}

func (t Transport) String() string {
	if t < numTransports {
		return transportNames[t]
	}
	return fmt.Sprintf("transport(%d)", t)
}

// raw reports whether t is a baseline that speaks no RSocket.
func (t Transport) raw() bool { return t == RawTCP || t == RawUnix }

// External reports whether t is measured by another binary (rshm-grpc,
// see grpc.go) rather than in this process: gRPC-go must not become a
// dependency of the rshm module.
func (t Transport) External() bool { return t == GRPCTCP || t == GRPCUnix }

// Transports lists every transport in table order.
func Transports() []Transport {
	out := make([]Transport, numTransports)
	for i := range out {
		out[i] = Transport(i)
	}
	return out
}

// ParseTransport reads a transport name as String writes it.
func ParseTransport(s string) (Transport, error) {
	for i, n := range transportNames {
		if strings.EqualFold(s, n) {
			return Transport(i), nil
		}
	}
	return 0, fmt.Errorf("%w: transport %q (want one of %s)", ErrConfig, s, strings.Join(transportNames[:], ", "))
}

// Model is an RSocket interaction model.
type Model uint8

const (
	RR      Model = iota // request-response
	FNF                  // fire-and-forget
	Stream               // request-stream
	Channel              // request-channel
	numModels
)

var modelNames = [numModels]string{RR: "rr", FNF: "fnf", Stream: "stream", Channel: "channel"}

func (m Model) String() string {
	if m < numModels {
		return modelNames[m]
	}
	return fmt.Sprintf("model(%d)", m)
}

// models lists the models a transport can run: the raw baselines have
// only a ping-pong and a one-way stream, the gRPC service a unary Echo and
// a server-streaming Stream.
func (t Transport) models() []Model {
	if t.raw() || t.External() {
		return []Model{RR, Stream}
	}
	return []Model{RR, FNF, Stream, Channel}
}

// Case is one measurement.
type Case struct {
	Transport   Transport
	Model       Model
	Size        int // payload bytes
	Concurrency int // goroutines (and, for raw transports, connections)
}

func (c Case) String() string {
	return fmt.Sprintf("%s %s %s c=%d", c.Transport, c.Model, sizeName(c.Size), c.Concurrency)
}

// Matrix lists the measurements of cfg, grouped by transport (one server
// each) in table order.
func Matrix(cfg *Config) []Case {
	var out []Case
	for _, t := range cfg.transports() {
		for _, m := range t.models() {
			for _, conc := range cfg.concurrencies(m) {
				for _, size := range cfg.sizes() {
					out = append(out, Case{Transport: t, Model: m, Size: size, Concurrency: conc})
				}
			}
		}
	}
	return out
}

// Estimate is how long cases take under cfg: each runs its warm-up and its
// window, plus perCaseOverhead for connections and the control round trips.
func Estimate(cfg *Config, cases int) time.Duration {
	const perCaseOverhead = 60 * time.Millisecond
	return time.Duration(cases) * (cfg.duration() + cfg.warmup() + perCaseOverhead)
}

// sizeName writes 64, 1KiB, 16KiB, 1MiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
