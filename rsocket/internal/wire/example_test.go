package wire_test

import (
	"fmt"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// A byte-stream sender claims exactly Size bytes after the length prefix; the
// receiver reads the prefix, then parses views into its buffer.
func Example() {
	md, data := []byte("m"), []byte("hello")
	n := wire.PayloadSize(md, data)
	buf := wire.AppendLength(make([]byte, 0, wire.LengthSize+n), n)
	buf = wire.AppendPayload(buf, 1, wire.FlagNext|wire.FlagComplete, md, data)
	fmt.Printf("% x\n", buf)

	var f wire.Frame
	l := wire.ReadLength(buf)
	if err := wire.Parse(buf[wire.LengthSize:wire.LengthSize+l], &f); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Type, f.StreamID, f.Flags&wire.FlagComplete != 0, string(f.Metadata), string(f.Data))
	// Output:
	// 00 00 0f 00 00 00 01 29 60 00 00 01 6d 68 65 6c 6c 6f
	// PAYLOAD 1 true m hello
}

// Unknown frame types are reported with their flags so the receiver can honour
// the I(gnore) flag.
func ExampleParse_unknownType() {
	var f wire.Frame
	err := wire.Parse([]byte{0, 0, 0, 3, 0x42, 0x00}, &f)
	fmt.Println(err)
	fmt.Println(f.Flags&wire.FlagIgnore != 0)
	// Output:
	// wire: FrameType(0x10): type not defined by RSocket 1.0: unknown frame type
	// true
}
