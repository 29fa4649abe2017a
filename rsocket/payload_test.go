package rsocket_test

import (
	"bytes"
	"testing"

	"github.com/rshm/rshm/rsocket"
)

// Clone copies every byte (changing the original afterwards leaves the clone
// alone) and keeps whether Metadata is nil, whatever is empty.
func TestPayloadCloneCopiesAndKeepsNilness(t *testing.T) {
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
		t.Run(tc.name, func(t *testing.T) {
			p := rsocket.Payload{Metadata: bytes.Clone(tc.md), Data: bytes.Clone(tc.data)}
			q := p.Clone()
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
