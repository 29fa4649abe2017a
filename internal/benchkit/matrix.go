package benchkit

import (
	"fmt"
	"strings"
)

// Transport is one column of the comparison.
type Transport uint8

const (
	SHMSpin    Transport = iota // rshm over shared memory, rshm.WaitSpin
	SHMDefault                  // rshm over shared memory, rshm.WaitDefault (a zero Config's)
	SHMBackoff                  // rshm over shared memory, rshm.WaitBackoff
	SHMBlock                    // rshm over shared memory, rshm.WaitBlock
	RSocketTCP                  // rshm's RSocket over TCP (rshm.TCPOnly)
	WebSocket                   // rshm's RSocket over a WebSocket (a ws:// URL)
	RawTCP                      // length-prefixed echo over a TCP socket
	RawUnix                     // length-prefixed echo over a Unix socket
	GRPCTCP                     // gRPC-go over TCP (the rshm-grpc binary)
	GRPCUnix                    // gRPC-go over a Unix socket (the rshm-grpc binary)
	Kafka                       // rshm's RSocket over a Kafka topic pair, against kfake (the rshm-kafka binary)
	numTransports
)

var transportNames = [numTransports]string{
	SHMSpin: "rshm-shm-spin", SHMDefault: "rshm-shm-default", SHMBackoff: "rshm-shm-backoff", SHMBlock: "rshm-shm-block",
	RSocketTCP: "rshm-tcp", WebSocket: "rshm-ws", RawTCP: "raw-tcp", RawUnix: "raw-unix",
	GRPCTCP: "grpc-tcp", GRPCUnix: "grpc-unix", Kafka: "kafka",
}

func (t Transport) String() string {
	if t < numTransports {
		return transportNames[t]
	}
	return fmt.Sprintf("transport(%d)", t)
}

// Raw reports whether t is a baseline that speaks no RSocket.
func (t Transport) Raw() bool { return t == RawTCP || t == RawUnix }

// External reports whether t is measured by another binary rather than in
// rshm bench's process: rshm-grpc (the nested module bench/grpcbench) for
// the gRPC transports and rshm-kafka (the nested module kafkatransport)
// for Kafka, because neither gRPC-go nor the Kafka client may become a
// dependency of the rshm module.
func (t Transport) External() bool { return t == GRPCTCP || t == GRPCUnix || t == Kafka }

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

// Models lists every model in table order.
func Models() []Model {
	out := make([]Model, numModels)
	for i := range out {
		out[i] = Model(i)
	}
	return out
}

// ParseModel reads a model name as String writes it.
func ParseModel(s string) (Model, error) {
	for i, n := range modelNames {
		if strings.EqualFold(s, n) {
			return Model(i), nil
		}
	}
	return 0, fmt.Errorf("%w: model %q (want one of %s)", ErrConfig, s, strings.Join(modelNames[:], ", "))
}

// Models lists the models t can run, in table order: the raw baselines
// have only a ping-pong and a one-way stream, the gRPC service a unary
// Echo and a server-streaming Stream, and rshm-kafka measures
// request-response and stream only (what the log costs a round trip and a
// flow).
func (t Transport) Models() []Model {
	if t.Raw() || t.External() {
		return []Model{RR, Stream}
	}
	return []Model{RR, FNF, Stream, Channel}
}

// runs reports whether t measures model m.
func (t Transport) runs(m Model) bool {
	for _, tm := range t.Models() {
		if tm == m {
			return true
		}
	}
	return false
}

// Case is one measurement.
type Case struct {
	Transport   Transport
	Model       Model
	Size        int // payload bytes
	Concurrency int // goroutines (and, for raw transports, connections)
}

func (c Case) String() string {
	return fmt.Sprintf("%s %s %s c=%d", c.Transport, c.Model, SizeName(c.Size), c.Concurrency)
}

// SizeName writes a payload size as the table, the plots and Case.String
// do: 64B, 1KiB, 16KiB, 1MiB.
func SizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
