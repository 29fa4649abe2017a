package kafkatransport

import (
	"encoding/binary"
	"slices"
	"testing"
)

// frame returns a frame header of type typ with flags on stream id.
func frame(id uint32, typ uint8, flags uint16) []byte {
	b := binary.BigEndian.AppendUint32(nil, id)
	return binary.BigEndian.AppendUint16(b, uint16(typ)<<10|flags)
}

func TestParseHeader(t *testing.T) {
	h, ok := parseHeader(append(frame(0x7FFFFFFF, typePayload, flagFollows|flagComplete), 1, 2))
	if !ok || h != (frameHeader{stream: 0x7FFFFFFF, typ: typePayload, flags: flagFollows | flagComplete}) {
		t.Errorf("parseHeader = %+v, %v", h, ok)
	}
	// The reserved bit is not part of the id.
	if h, _ := parseHeader(frame(0x80000005, typeCancel, 0)); h.stream != 5 {
		t.Errorf("stream = %d, want 5", h.stream)
	}
	if _, ok := parseHeader(make([]byte, 5)); ok {
		t.Error("a 5-byte frame parsed")
	}
}

func TestErrorFrame(t *testing.T) {
	got := errorFrame(nil, 9, codeCanceled, "no")
	want := []byte{0, 0, 0, 9, 0x2C, 0, 0, 0, 0x02, 0x03, 'n', 'o'}
	if !slices.Equal(got, want) {
		t.Errorf("errorFrame = % x, want % x", got, want)
	}
}

// TestTracker follows each interaction model's frames and checks what a
// checkpoint would record after each: the offsets to give a new responder
// again, and the streams to end.
func TestTracker(t *testing.T) {
	type step struct {
		out     bool // sent by the responder, else received
		f       []byte
		pending []int64
		streams []uint32
	}
	const F, C = flagFollows, flagComplete
	for i, tc := range []struct {
		name  string
		steps []step
	}{
		{"request-response", []step{
			{f: frame(1, typeRequestResponse, 0), pending: []int64{0}},
			{out: true, f: frame(1, typePayload, C|0x20)},
		}},
		{"request-response answered with an error", []step{
			{f: frame(1, typeRequestResponse, 0), pending: []int64{0}},
			{out: true, f: frame(1, typeError, 0)},
		}},
		{"request-response cancelled", []step{
			{f: frame(3, typeRequestResponse, 0), pending: []int64{0}},
			{f: frame(3, typeCancel, 0)},
		}},
		{"fragmented request-response and answer", []step{
			{f: frame(1, typeRequestResponse, F), pending: []int64{0}},
			{f: frame(1, typePayload, F), pending: []int64{0, 1}},
			{f: frame(1, typePayload, 0), pending: []int64{0, 1, 2}},
			{out: true, f: frame(1, typePayload, F), pending: []int64{0, 1, 2}},
			{out: true, f: frame(1, typePayload, 0)},
		}},
		{"fire-and-forget", []step{
			{f: frame(1, typeRequestFNF, 0)},
		}},
		{"fragmented fire-and-forget", []step{
			{f: frame(1, typeRequestFNF, F), pending: []int64{0}},
			{f: frame(1, typePayload, 0)},
		}},
		{"stream", []step{
			{f: frame(5, typeRequestStream, 0), streams: []uint32{5}},
			{f: frame(5, 0x08, 0), streams: []uint32{5}}, // REQUEST_N
			{out: true, f: frame(5, typePayload, 0x20), streams: []uint32{5}},
			{out: true, f: frame(5, typePayload, C)},
		}},
		{"stream cancelled", []step{
			{f: frame(5, typeRequestStream, 0), streams: []uint32{5}},
			{f: frame(5, typeCancel, 0)},
		}},
		{"fragmented stream request", []step{
			{f: frame(5, typeRequestStream, F), pending: []int64{0}},
			{f: frame(5, typePayload, 0), streams: []uint32{5}},
		}},
		{"channel: responder completes first", []step{
			{f: frame(7, typeRequestChannel, 0), streams: []uint32{7}},
			{out: true, f: frame(7, typePayload, C), streams: []uint32{7}},
			{f: frame(7, typePayload, 0x20), streams: []uint32{7}},
			{f: frame(7, typePayload, C)},
		}},
		{"channel: requester completes in its request", []step{
			{f: frame(7, typeRequestChannel, C), streams: []uint32{7}},
			{out: true, f: frame(7, typePayload, C)},
		}},
		{"channel: each side cancels the other", []step{
			{f: frame(7, typeRequestChannel, 0), streams: []uint32{7}},
			{f: frame(7, typeCancel, 0), streams: []uint32{7}},
			{out: true, f: frame(7, typeCancel, 0)},
		}},
		{"channel: requester's error", []step{
			{f: frame(7, typeRequestChannel, 0), streams: []uint32{7}},
			{f: frame(7, typeError, 0)},
		}},
		{"requests on an id in use are ignored", []step{
			{f: frame(1, typeRequestResponse, 0), pending: []int64{0}},
			{f: frame(1, typeRequestStream, 0), pending: []int64{0}},
		}},
		{"the responder's own requests are not followed", []step{
			{out: true, f: frame(2, typeRequestResponse, 0)},
			{f: frame(2, typePayload, C)},
		}},
		{"stream 0 and short frames", []step{
			{f: frame(0, 0x03, 0)},
			{f: []byte{1, 2}},
			{out: true, f: []byte{1}},
		}},
		{"two requests", []step{
			{f: frame(1, typeRequestResponse, 0), pending: []int64{0}},
			{f: frame(3, typeRequestStream, 0), pending: []int64{0}, streams: []uint32{3}},
			{f: frame(5, typeRequestResponse, 0), pending: []int64{0, 2}, streams: []uint32{3}},
			{out: true, f: frame(1, typePayload, C), pending: []int64{2}, streams: []uint32{3}},
		}},
	} {
		tr := newTracker()
		for j, s := range tc.steps {
			if s.out {
				tr.out(s.f)
			} else {
				tr.in(s.f, int64(j))
			}
			if got := tr.pending(); !slices.Equal(got, s.pending) {
				t.Errorf("%d %s, step %d: pending %v, want %v", i, tc.name, j, got, s.pending)
			}
			if got := tr.streams(); !slices.Equal(got, s.streams) {
				t.Errorf("%d %s, step %d: streams %v, want %v", i, tc.name, j, got, s.streams)
			}
		}
	}
}
