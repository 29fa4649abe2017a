package metadata

import "encoding/binary"

// Zipkin tracing metadata (Tracing-Zipkin.md):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|I|D|S|N|T|P|   |
//	+-+-+-+-+-+-+---+
//	|  Trace ID high (u64, only with T)                             |
//	|  Trace ID (u64)                                               |
//	|  Span ID (u64)                                                |
//	|  Parent Span ID (u64, only with P)                            |
//	+---------------------------------------------------------------+
//
// I: ids follow (without it the metadata is the flags byte alone, sampling
// information only); D debug; S sampled; N not sampled; T 128-bit trace id;
// P parent span id present. The bit values are rsocket-java's
// TracingMetadataCodec (the specification's diagram labels the same bits).
const (
	traceIDsSet     = 0x80
	traceDebug      = 0x40
	traceSampled    = 0x20
	traceNotSampled = 0x10
	traceID128      = 0x08
	traceParent     = 0x04
)

// Sampling is the sampling decision of a trace.
type Sampling uint8

// Sampling decisions. Debug overrides Sampled, which overrides NotSampled,
// when a peer sets more than one flag.
const (
	Undecided Sampling = iota
	NotSampled
	Sampled
	Debug
)

var samplingNames = [...]string{Undecided: "undecided", NotSampled: "not-sampled", Sampled: "sampled", Debug: "debug"}

func (s Sampling) String() string {
	if int(s) < len(samplingNames) {
		return samplingNames[s]
	}
	return "Sampling(?)"
}

// Tracing is Zipkin tracing metadata.
type Tracing struct {
	Sampling Sampling
	// HasIDs: the ids below are present (the I flag). Without it only
	// Sampling is sent.
	HasIDs bool
	// TraceID128: the trace id has 128 bits, TraceIDHigh being the upper
	// 64 (the T flag).
	TraceID128  bool
	TraceIDHigh uint64
	TraceID     uint64
	SpanID      uint64
	// HasParent: ParentID is present (the P flag).
	HasParent bool
	ParentID  uint64
}

// AppendTracing appends t.
func AppendTracing(b []byte, t Tracing) []byte {
	var f byte
	switch t.Sampling {
	case Debug:
		f |= traceDebug
	case Sampled:
		f |= traceSampled
	case NotSampled:
		f |= traceNotSampled
	}
	if !t.HasIDs {
		return append(b, f)
	}
	f |= traceIDsSet
	if t.TraceID128 {
		f |= traceID128
	}
	if t.HasParent {
		f |= traceParent
	}
	b = append(b, f)
	if t.TraceID128 {
		b = binary.BigEndian.AppendUint64(b, t.TraceIDHigh)
	}
	b = binary.BigEndian.AppendUint64(b, t.TraceID)
	b = binary.BigEndian.AppendUint64(b, t.SpanID)
	if t.HasParent {
		b = binary.BigEndian.AppendUint64(b, t.ParentID)
	}
	return b
}

// ParseTracing decodes Zipkin tracing metadata. Its length must be exactly
// what the flags announce. Without I, the T and P flags are ignored, as
// rsocket-java does.
func ParseTracing(content []byte) (Tracing, error) {
	if len(content) == 0 {
		return Tracing{}, malformed("tracing: empty", 0)
	}
	f := content[0]
	var t Tracing
	switch {
	case f&traceDebug != 0:
		t.Sampling = Debug
	case f&traceSampled != 0:
		t.Sampling = Sampled
	case f&traceNotSampled != 0:
		t.Sampling = NotSampled
	}
	if f&traceIDsSet == 0 {
		if len(content) != 1 {
			return Tracing{}, malformed("tracing: bytes after flags without ids", 1)
		}
		return t, nil
	}
	t.HasIDs = true
	t.TraceID128 = f&traceID128 != 0
	t.HasParent = f&traceParent != 0
	want := 1 + 16
	if t.TraceID128 {
		want += 8
	}
	if t.HasParent {
		want += 8
	}
	if len(content) != want {
		return Tracing{}, malformed("tracing: length does not match flags", 0)
	}
	p := content[1:]
	if t.TraceID128 {
		t.TraceIDHigh, p = binary.BigEndian.Uint64(p), p[8:]
	}
	t.TraceID, p = binary.BigEndian.Uint64(p), p[8:]
	t.SpanID, p = binary.BigEndian.Uint64(p), p[8:]
	if t.HasParent {
		t.ParentID = binary.BigEndian.Uint64(p)
	}
	return t, nil
}
