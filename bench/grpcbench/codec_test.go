package main

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
)

func TestCodecRoundTrip(t *testing.T) {
	var c rawCodec
	if c.Name() != "rshmraw" {
		t.Errorf("Name = %q", c.Name())
	}
	for _, n := range []int{0, 1, 64, 1 << 10, 16 << 10, 1 << 20} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		for _, v := range []any{&msg, msg} {
			data, err := c.Marshal(v)
			if err != nil {
				t.Fatalf("Marshal %d bytes: %v", n, err)
			}
			if n > 0 { // Marshal copied: the caller may reuse its slice
				if &data[0].ReadOnlyData()[0] == &msg[0] {
					t.Fatalf("%d bytes: Marshal did not copy", n)
				}
			}
			// Split the wire bytes in two buffers, as a receive can.
			wire := data.Materialize()
			data.Free()
			half := len(wire) / 2
			in := mem.BufferSlice{mem.SliceBuffer(wire[:half]), mem.SliceBuffer(wire[half:])}
			out := []byte("stale contents")
			if err := c.Unmarshal(in, &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, msg) {
				t.Errorf("%d bytes: round trip gave %d bytes, differing", n, len(out))
			}
		}
	}
}

func TestCodecTypes(t *testing.T) {
	var c rawCodec
	if _, err := c.Marshal("text"); err == nil {
		t.Error("Marshal(string): no error")
	}
	var s string
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer("x")}, &s); err == nil {
		t.Error("Unmarshal(*string): no error")
	}
	var b []byte
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer("x")}, b); err == nil {
		t.Error("Unmarshal([]byte): no error (want a pointer)")
	}
}

// TestCodecAllocs: a receive loop reusing its slice does not allocate;
// a send allocates its copy and the slice holding it.
func TestCodecAllocs(t *testing.T) {
	var c rawCodec
	in := mem.BufferSlice{mem.SliceBuffer(make([]byte, 4<<10))}
	out := make([]byte, 0, 4<<10)
	if n := testing.AllocsPerRun(100, func() { _ = c.Unmarshal(in, &out) }); n != 0 {
		t.Errorf("Unmarshal into a reused slice: %v allocations; want 0", n)
	}
	msg := make([]byte, 64<<10) // above gRPC's pooling threshold
	if n := testing.AllocsPerRun(100, func() {
		d, _ := c.Marshal(&msg)
		d.Free()
	}); n > 2 {
		t.Errorf("Marshal of a pooled size: %v allocations; want at most 2", n)
	}
}
