package wire

import "testing"

// TestAllocs holds Parse and every encoder to 0 allocations when the
// destination has capacity.
func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation changes allocation counts")
	}
	md, data := []byte("metadata"), make([]byte, 64)
	buf := make([]byte, 0, 4096)
	setup := &Frame{Type: TypeSetup, MajorVersion: 1, KeepaliveInterval: 1, MaxLifetime: 1,
		ResumeToken: []byte("t"), MetadataMIME: []byte("a/b"), DataMIME: []byte("c/d"), Metadata: md, Data: data}
	var frames [][]byte
	for _, g := range goldenFrames {
		frames = append(frames, unhex(t, g.hex))
	}
	var f Frame
	tests := []struct {
		name string
		fn   func()
	}{
		{"Parse", func() {
			for _, b := range frames {
				if err := Parse(b, &f); err != nil {
					panic(err)
				}
			}
		}},
		{"ParseHeader", func() { _, _, _, _ = ParseHeader(frames[0]) }},
		{"Append", func() {
			for i := range goldenFrames {
				_ = Append(buf[:0], &goldenFrames[i].want)
			}
		}},
		{"AppendHeader", func() { _ = AppendHeader(buf[:0], 1, TypeCancel, 0) }},
		{"AppendPayload", func() { _ = AppendPayload(buf[:0], 1, FlagNext, md, data) }},
		{"AppendRequest", func() { _ = AppendRequest(buf[:0], TypeRequestStream, 1, 0, 5, md, data) }},
		{"AppendRequestN", func() { _ = AppendRequestN(buf[:0], 1, 5) }},
		{"AppendCancel", func() { _ = AppendCancel(buf[:0], 1) }},
		{"AppendError", func() { _ = AppendError(buf[:0], 1, ErrApplicationError, "boom") }},
		{"AppendKeepalive", func() { _ = AppendKeepalive(buf[:0], true, 7, data) }},
		{"AppendLease", func() { _ = AppendLease(buf[:0], 1, 2, md) }},
		{"AppendMetadataPush", func() { _ = AppendMetadataPush(buf[:0], md) }},
		{"AppendResume", func() { _ = AppendResume(buf[:0], 1, 0, md, 1, 2) }},
		{"AppendResumeOK", func() { _ = AppendResumeOK(buf[:0], 1) }},
		{"AppendSetup", func() { _ = AppendSetup(buf[:0], setup) }},
		{"AppendLength", func() { _ = AppendLength(buf[:0], 100) }},
		{"Size", func() { _ = Size(setup) + PayloadSize(md, data) + RequestSize(TypeRequestChannel, md, data) }},
		{"CheckStream", func() { _ = f.CheckStream() }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.fn); n != 0 {
			t.Errorf("%s: %v allocs per run; want 0", tt.name, n)
		}
	}
}
