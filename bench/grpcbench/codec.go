package main

import (
	"fmt"

	"google.golang.org/grpc/mem"
)

// rawCodec carries a message as its bytes, unchanged: the codec of a
// service whose messages are one bytes field, without protobuf. Messages
// are *[]byte (or []byte to send).
//
// Marshal copies the message, into a pooled buffer above gRPC's pooling
// threshold (as gRPC's protobuf codec marshals), so the caller may reuse
// its slice as soon as SendMsg or Invoke returns. Unmarshal appends into
// the message's own capacity, so a receive loop reusing one slice does not
// allocate for it.
type rawCodec struct{}

// codecName is the content-subtype on the wire: application/grpc+rshmraw.
const codecName = "rshmraw"

func (rawCodec) Name() string { return codecName }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	var b []byte
	switch m := v.(type) {
	case *[]byte:
		b = *m
	case []byte:
		b = m
	default:
		return nil, fmt.Errorf("rshm-grpc: cannot marshal %T, want *[]byte", v)
	}
	return mem.BufferSlice{mem.Copy(b, mem.DefaultBufferPool())}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rshm-grpc: cannot unmarshal into %T, want *[]byte", v)
	}
	b := (*m)[:0]
	for _, d := range data {
		b = append(b, d.ReadOnlyData()...)
	}
	*m = b
	return nil
}
