package kafkatransport

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Records. Every record of a connection, in either direction, has the
// connection's id as its key, so that the producer's key hashing puts them
// all in one partition, where Kafka keeps their order. A record without
// headers carries one RSocket frame as its value, as encoded by the engine
// (no length prefix: the record has one). A record with the kind header is
// a control record of the transport's own:
//
//	kind     topic            headers               value
//	connect  request topic    version, reply topic  -
//	confirm  reply topic      -                     -
//	refuse   reply topic      -                     why, in UTF-8
//	close    either           -                     -
//
// The client announces itself with connect and waits for confirm (or
// refuse) before it sends a frame; close ends the connection from either
// side. A reader skips a control record of a kind it does not know.
const (
	headerKind    = "rshm"
	headerVersion = "rshm-version"
	headerReply   = "rshm-reply"

	kindConnect = "connect"
	kindConfirm = "confirm"
	kindRefuse  = "refuse"
	kindClose   = "close"

	// protocolVersion is the connect record's version: the record layout
	// above and the session records of state.go.
	protocolVersion = "1"
)

// controlRecord returns a control record of kind for the connection id on
// topic, with extra headers as key, value pairs.
func controlRecord(topic string, id []byte, kind string, value []byte, kv ...string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Key: id, Value: value}
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: headerKind, Value: []byte(kind)})
	for i := 0; i+1 < len(kv); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return r
}

// header returns the value of r's header key, and whether it has one.
func header(r *kgo.Record, key string) (string, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value), true
		}
	}
	return "", false
}

// kind returns r's control kind, or "" for a frame.
func kind(r *kgo.Record) string {
	k, _ := header(r, headerKind)
	return k
}

// Frame header (RSocket 1.0, "Frame Header Format"): a 31-bit stream id,
// then 6 bits of frame type and 10 of flags.
//
//	 0                   1                   2                   3
//	|0|                    Stream ID (31)                           |
//	|Frame Type |I|M|     Flags       |
//
// The transport reads it only to follow which requests a responder has
// answered (track.go); the engine validates frames itself.
const (
	frameHeaderSize = 6

	typeRequestResponse = 0x04
	typeRequestFNF      = 0x05
	typeRequestStream   = 0x06
	typeRequestChannel  = 0x07
	typeCancel          = 0x09
	typePayload         = 0x0A
	typeError           = 0x0B

	flagFollows  = 0x080
	flagComplete = 0x040

	// RSocket error codes the transport sends for the engine (see
	// errorFrame).
	codeRejected = 0x202
	codeCanceled = 0x203
)

// frameHeader is the part of a frame header the transport reads.
type frameHeader struct {
	stream uint32
	typ    uint8
	flags  uint16
}

// parseHeader reads f's header; ok is false for a frame too short to have
// one (the engine rejects it).
func parseHeader(f []byte) (h frameHeader, ok bool) {
	if len(f) < frameHeaderSize {
		return h, false
	}
	v := binary.BigEndian.Uint16(f[4:])
	return frameHeader{
		stream: binary.BigEndian.Uint32(f) & 0x7FFFFFFF,
		typ:    uint8(v >> 10),
		flags:  v & 0x3FF,
	}, true
}

// errorFrame appends an ERROR frame for stream with code and msg to b:
//
//	| Stream ID | Type 0x0B, no flags | Error Code (32) | message (UTF-8) |
func errorFrame(b []byte, stream uint32, code uint32, msg string) []byte {
	b = binary.BigEndian.AppendUint32(b, stream)
	b = binary.BigEndian.AppendUint16(b, typeError<<10)
	b = binary.BigEndian.AppendUint32(b, code)
	return append(b, msg...)
}
