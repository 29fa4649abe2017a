package rsocket_test

import (
	"bytes"
	"testing"

	"github.com/rshm/rshm/rsocket"
)

// Clone and CloneInto copy every byte (changing the original afterwards
// leaves the copy alone) and keep whether Metadata is nil, whatever is
// empty; CloneInto with every kind of buffer.
func TestPayloadCloneCopiesAndKeepsNilness(t *testing.T) {
	clones := []struct {
		name  string
		clone func(rsocket.Payload) rsocket.Payload
	}{
		{"Clone", rsocket.Payload.Clone},
		{"CloneInto nil", func(p rsocket.Payload) rsocket.Payload { return p.CloneInto(nil) }},
		{"CloneInto small", func(p rsocket.Payload) rsocket.Payload { return p.CloneInto(make([]byte, 1)) }},
		{"CloneInto large", func(p rsocket.Payload) rsocket.Payload { return p.CloneInto(make([]byte, 3, 64)) }},
	}
	for _, tc := range []struct {
		name     string
		md, data []byte
	}{
		{"data only", nil, []byte("data")},
		{"metadata only", []byte("md"), nil},
		{"both", []byte("md"), []byte("data")},
		{"empty metadata", []byte{}, nil},
		{"empty metadata and data", []byte{}, []byte("data")},
		{"nothing", nil, nil},
	} {
		for _, cl := range clones {
			t.Run(tc.name+"/"+cl.name, func(t *testing.T) {
				p := rsocket.Payload{Metadata: bytes.Clone(tc.md), Data: bytes.Clone(tc.data)}
				q := cl.clone(p)
				if (q.Metadata == nil) != (tc.md == nil) {
					t.Fatalf("metadata nil %v, want %v", q.Metadata == nil, tc.md == nil)
				}
				for i := range p.Metadata {
					p.Metadata[i] = 'x'
				}
				for i := range p.Data {
					p.Data[i] = 'x'
				}
				if !bytes.Equal(q.Metadata, tc.md) || !bytes.Equal(q.Data, tc.data) {
					t.Fatalf("clone %q/%q, want %q/%q", q.Metadata, q.Data, tc.md, tc.data)
				}
				if len(q.Metadata) > 0 && len(q.Data) > 0 && cap(q.Metadata) != len(q.Metadata) {
					t.Fatalf("metadata's capacity reaches into the data: %d", cap(q.Metadata))
				}
			})
		}
	}
}

// CloneInto uses the buffer's array when it is large enough, whatever the
// buffer's length, without allocating, and a new one when it is not.
func TestPayloadCloneIntoReusesBuffer(t *testing.T) {
	p := rsocket.Payload{Metadata: []byte("md"), Data: []byte("data")}
	buf := make([]byte, 0, 6)
	q := p.CloneInto(buf)
	if &q.Metadata[0] != &buf[:1][0] || &q.Data[0] != &buf[:3][2] {
		t.Fatal("the copy is not in the buffer")
	}
	if n := testing.AllocsPerRun(100, func() { q = p.CloneInto(buf) }); n != 0 {
		t.Fatalf("CloneInto into a large enough buffer: %.1f allocs, want 0", n)
	}
	small := make([]byte, 5)
	q = p.CloneInto(small)
	if &q.Data[0] == &small[2] || string(q.Metadata)+string(q.Data) != "mddata" {
		t.Fatalf("a too small buffer: %q/%q, in the buffer: %v", q.Metadata, q.Data, &q.Data[0] == &small[2])
	}
}
