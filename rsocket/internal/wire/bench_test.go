package wire

import (
	"runtime"
	"testing"
)

// BenchmarkCodec encodes and parses one 64-byte-data PAYLOAD with metadata
// per iteration, the shape of a small request-stream element. frames/s counts
// encode+parse pairs on one goroutine (one core).
func BenchmarkCodec(b *testing.B) {
	md := []byte("route.x\x00")
	data := make([]byte, 64)
	buf := make([]byte, 0, 256)
	var f Frame
	b.ReportAllocs()
	b.SetBytes(int64(PayloadSize(md, data)))
	for b.Loop() {
		buf = AppendPayload(buf[:0], 1, FlagNext, md, data)
		if err := Parse(buf, &f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.Logf("GOMAXPROCS=%d GOARCH=%s", runtime.GOMAXPROCS(0), runtime.GOARCH)
}

// BenchmarkCodecParts separates the two halves, and compares the hot-path
// encoder with the generic Append in the same run.
func BenchmarkCodecParts(b *testing.B) {
	md := []byte("route.x\x00")
	data := make([]byte, 64)
	buf := make([]byte, 0, 256)
	frame := AppendPayload(nil, 1, FlagNext, md, data)
	b.Run("AppendPayload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendPayload(buf[:0], 1, FlagNext, md, data)
		}
	})
	b.Run("Append", func(b *testing.B) {
		b.ReportAllocs()
		f := Frame{StreamID: 1, Type: TypePayload, Flags: FlagNext, Metadata: md, Data: data}
		for b.Loop() {
			buf = Append(buf[:0], &f)
		}
	})
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		var f Frame
		for b.Loop() {
			if err := Parse(frame, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
