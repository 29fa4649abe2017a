package cli

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/rshm/rshm/rsocket"
)

// This file decodes RSocket frames for the --debug dump. The library's
// codec (rsocket/internal/wire) is not importable from the command, and
// a dump wants something else of a decoder anyway: it describes what it
// can of any input, a malformed frame included, and checks nothing the
// description does not need.
//
// Every frame starts with the same 6-byte header (big-endian):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|0|                         Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |I|M|     Flags     |     Depends on Frame Type    ...
//	+-------------------------------+
//
// The dump sees frames as the transports hand them to the engine: whole,
// without TCP's 24-bit length prefix.

// frameType is the 6-bit type of a frame header.
type frameType uint8

// The frame types of RSocket 1.0.
const (
	typeSetup           frameType = 0x01
	typeLease           frameType = 0x02
	typeKeepalive       frameType = 0x03
	typeRequestResponse frameType = 0x04
	typeRequestFNF      frameType = 0x05
	typeRequestStream   frameType = 0x06
	typeRequestChannel  frameType = 0x07
	typeRequestN        frameType = 0x08
	typeCancel          frameType = 0x09
	typePayload         frameType = 0x0A
	typeError           frameType = 0x0B
	typeMetadataPush    frameType = 0x0C
	typeResume          frameType = 0x0D
	typeResumeOK        frameType = 0x0E
	typeExt             frameType = 0x3F
)

var frameNames = [64]string{
	0x00:                "RESERVED",
	typeSetup:           "SETUP",
	typeLease:           "LEASE",
	typeKeepalive:       "KEEPALIVE",
	typeRequestResponse: "REQUEST_RESPONSE",
	typeRequestFNF:      "REQUEST_FNF",
	typeRequestStream:   "REQUEST_STREAM",
	typeRequestChannel:  "REQUEST_CHANNEL",
	typeRequestN:        "REQUEST_N",
	typeCancel:          "CANCEL",
	typePayload:         "PAYLOAD",
	typeError:           "ERROR",
	typeMetadataPush:    "METADATA_PUSH",
	typeResume:          "RESUME",
	typeResumeOK:        "RESUME_OK",
	typeExt:             "EXT",
}

func (t frameType) String() string {
	if int(t) < len(frameNames) && frameNames[t] != "" {
		return frameNames[t]
	}
	return "TYPE_0x" + strconv.FormatUint(uint64(t), 16)
}

// Header flag bits. The low three mean different things per type.
const (
	flagIgnore   = 0x200 // I: ignore if not understood
	flagMetadata = 0x100 // M: metadata present
	flag80       = 0x080 // F (REQUEST_*, PAYLOAD), R (SETUP: resume; KEEPALIVE: respond)
	flag40       = 0x040 // C (REQUEST_CHANNEL, PAYLOAD), L (SETUP: lease)
	flag20       = 0x020 // N (PAYLOAD)
	flagMask     = 0x3FF
)

const (
	headerSize  = 6
	metaLenSize = 3
)

// frame is a decoded frame. Its byte slices are views into the input.
type frame struct {
	StreamID uint32
	Type     frameType
	Flags    uint16

	N            uint32 // REQUEST_N; initial n of REQUEST_STREAM/CHANNEL; LEASE's number of requests
	TTL          uint32 // LEASE, milliseconds
	Code         uint32 // ERROR
	ExtendedType uint32 // EXT
	// Major and Minor are the protocol version of SETUP and RESUME.
	Major, Minor uint16
	// Keepalive and Lifetime are SETUP's, in milliseconds.
	Keepalive, Lifetime uint32
	Token               []byte // SETUP with R, RESUME
	// MetadataMIME and DataMIME are SETUP's.
	MetadataMIME, DataMIME []byte
	// Position is KEEPALIVE's and RESUME_OK's last received position, and
	// RESUME's last received server position; Position2 is RESUME's first
	// available client position.
	Position, Position2 uint64

	// HasMetadata reports metadata (M, or the type always has some).
	HasMetadata bool
	Metadata    []byte
	Data        []byte
}

// errShortFrame reports a frame shorter than its fields say.
var errShortFrame = errors.New("frame too short")

// parseFrame decodes b. On error the fields decoded so far are set (the
// header's, when b has 6 bytes), so that a dump can still say what the
// frame claimed to be. It never panics and does not allocate.
func parseFrame(b []byte) (frame, error) {
	var f frame
	if len(b) < headerSize {
		return f, errShortFrame
	}
	f.StreamID = binary.BigEndian.Uint32(b) & 0x7FFFFFFF
	tf := binary.BigEndian.Uint16(b[4:])
	f.Type, f.Flags = frameType(tf>>10), tf&flagMask
	b = b[headerSize:]
	switch f.Type {
	case typeSetup:
		return f, f.parseSetup(b)
	case typeLease:
		// Time-To-Live, Number of Requests, then metadata without a length.
		if len(b) < 8 {
			return f, errShortFrame
		}
		f.TTL = binary.BigEndian.Uint32(b) & 0x7FFFFFFF
		f.N = binary.BigEndian.Uint32(b[4:]) & 0x7FFFFFFF
		if rest := b[8:]; f.Flags&flagMetadata != 0 || len(rest) > 0 {
			f.HasMetadata, f.Metadata = true, rest
		}
	case typeKeepalive:
		// Last Received Position, then data.
		if len(b) < 8 {
			return f, errShortFrame
		}
		f.Position = binary.BigEndian.Uint64(b) & 0x7FFFFFFFFFFFFFFF
		f.Data = b[8:]
	case typeRequestResponse, typeRequestFNF, typePayload:
		return f, f.metadataAndData(b)
	case typeRequestStream, typeRequestChannel, typeRequestN:
		// Initial Request N (Request N), then metadata and data.
		if len(b) < 4 {
			return f, errShortFrame
		}
		f.N = binary.BigEndian.Uint32(b) & 0x7FFFFFFF
		if f.Type == typeRequestN {
			return f, nil
		}
		return f, f.metadataAndData(b[4:])
	case typeCancel:
	case typeError:
		// Error Code, then the message as data.
		if len(b) < 4 {
			return f, errShortFrame
		}
		f.Code = binary.BigEndian.Uint32(b)
		f.Data = b[4:]
	case typeMetadataPush:
		// Metadata without a length; rsocket-js sends it with M clear.
		f.HasMetadata, f.Metadata = true, b
	case typeResume:
		return f, f.parseResume(b)
	case typeResumeOK:
		if len(b) < 8 {
			return f, errShortFrame
		}
		f.Position = binary.BigEndian.Uint64(b) & 0x7FFFFFFFFFFFFFFF
	case typeExt:
		// Extended Type, then metadata and data.
		if len(b) < 4 {
			return f, errShortFrame
		}
		f.ExtendedType = binary.BigEndian.Uint32(b) & 0x7FFFFFFF
		return f, f.metadataAndData(b[4:])
	default:
		f.Data = b
	}
	return f, nil
}

// metadataAndData splits the tail of SETUP, REQUEST_*, PAYLOAD and EXT: a
// 24-bit metadata length and the metadata when M is set, then the data.
func (f *frame) metadataAndData(b []byte) error {
	if f.Flags&flagMetadata == 0 {
		f.Data = b
		return nil
	}
	if len(b) < metaLenSize {
		return errShortFrame
	}
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	b = b[metaLenSize:]
	if n > len(b) {
		return errShortFrame
	}
	f.HasMetadata, f.Metadata, f.Data = true, b[:n], b[n:]
	return nil
}

// parseSetup decodes SETUP's body: versions, keepalive interval, max
// lifetime, the resume token (with R), two length-prefixed MIME types,
// then metadata and data.
func (f *frame) parseSetup(b []byte) error {
	if len(b) < 12 {
		return errShortFrame
	}
	f.Major, f.Minor = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	f.Keepalive = binary.BigEndian.Uint32(b[4:]) & 0x7FFFFFFF
	f.Lifetime = binary.BigEndian.Uint32(b[8:]) & 0x7FFFFFFF
	b = b[12:]
	if f.Flags&flag80 != 0 {
		if len(b) < 2 {
			return errShortFrame
		}
		n := int(binary.BigEndian.Uint16(b))
		if 2+n > len(b) {
			return errShortFrame
		}
		f.Token, b = b[2:2+n], b[2+n:]
	}
	var ok bool
	if f.MetadataMIME, b, ok = mime(b); !ok {
		return errShortFrame
	}
	if f.DataMIME, b, ok = mime(b); !ok {
		return errShortFrame
	}
	return f.metadataAndData(b)
}

// mime splits a MIME type with its one-byte length off the front of b.
func mime(b []byte) (m, rest []byte, ok bool) {
	if len(b) < 1 || 1+int(b[0]) > len(b) {
		return nil, b, false
	}
	return b[1 : 1+int(b[0])], b[1+int(b[0]):], true
}

// parseResume decodes RESUME's body: versions, the token, the last
// received server position and the first available client position.
func (f *frame) parseResume(b []byte) error {
	if len(b) < 6 {
		return errShortFrame
	}
	f.Major, f.Minor = binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
	n := int(binary.BigEndian.Uint16(b[4:]))
	b = b[6:]
	if n > len(b) {
		return errShortFrame
	}
	f.Token, b = b[:n], b[n:]
	if len(b) < 16 {
		return errShortFrame
	}
	f.Position = binary.BigEndian.Uint64(b) & 0x7FFFFFFFFFFFFFFF
	f.Position2 = binary.BigEndian.Uint64(b[8:]) & 0x7FFFFFFFFFFFFFFF
	return nil
}

// previewLen is how many bytes of metadata and data a dump line shows.
const previewLen = 32

// appendFrame appends to buf the one-line description of the frame b,
// sent (out) or received: direction, type, stream id, flags, the type's
// fields, and the length and first bytes of metadata and data, quoted so
// that the line holds no control characters. It ends the line with '\n'.
func appendFrame(buf []byte, out bool, b []byte) []byte {
	if out {
		buf = append(buf, "-> "...)
	} else {
		buf = append(buf, "<- "...)
	}
	f, err := parseFrame(b)
	if len(b) < headerSize {
		buf = append(buf, "short frame len="...)
		buf = strconv.AppendInt(buf, int64(len(b)), 10)
		return append(buf, '\n')
	}
	buf = append(buf, f.Type.String()...)
	buf = append(buf, " stream="...)
	buf = strconv.AppendUint(buf, uint64(f.StreamID), 10)
	buf = append(buf, " flags="...)
	buf = f.appendFlags(buf)
	buf = append(buf, " len="...)
	buf = strconv.AppendInt(buf, int64(len(b)), 10)
	if err != nil {
		buf = append(buf, " malformed: "...)
		buf = append(buf, err.Error()...)
		return append(buf, '\n')
	}
	num := func(name string, v uint64) {
		buf = append(buf, ' ')
		buf = append(buf, name...)
		buf = append(buf, '=')
		buf = strconv.AppendUint(buf, v, 10)
	}
	ms := func(name string, v uint32) {
		buf = append(buf, ' ')
		buf = append(buf, name...)
		buf = append(buf, '=')
		buf = append(buf, (time.Duration(v) * time.Millisecond).String()...)
	}
	switch f.Type {
	case typeSetup, typeResume:
		buf = append(buf, " version="...)
		buf = strconv.AppendUint(buf, uint64(f.Major), 10)
		buf = append(buf, '.')
		buf = strconv.AppendUint(buf, uint64(f.Minor), 10)
		if f.Type == typeSetup {
			ms("keepalive", f.Keepalive)
			ms("lifetime", f.Lifetime)
		}
		if f.Token != nil {
			num("token", uint64(len(f.Token)))
		}
		if f.Type == typeSetup {
			buf = append(buf, " metadataMIME="...)
			buf = appendQuoted(buf, f.MetadataMIME, 255)
			buf = append(buf, " dataMIME="...)
			buf = appendQuoted(buf, f.DataMIME, 255)
		} else {
			num("lastReceived", f.Position)
			num("firstAvailable", f.Position2)
		}
	case typeLease:
		ms("ttl", f.TTL)
		num("n", uint64(f.N))
	case typeKeepalive, typeResumeOK:
		num("position", f.Position)
	case typeRequestStream, typeRequestChannel, typeRequestN:
		num("n", uint64(f.N))
	case typeError:
		buf = append(buf, " code="...)
		buf = append(buf, rsocket.ErrorCode(f.Code).String()...)
	case typeExt:
		num("extendedType", uint64(f.ExtendedType))
	}
	if f.HasMetadata {
		num("metadata", uint64(len(f.Metadata)))
		buf = append(buf, ' ')
		buf = appendQuoted(buf, f.Metadata, previewLen)
	}
	switch f.Type {
	case typeRequestN, typeCancel, typeLease, typeMetadataPush, typeResume, typeResumeOK:
	default:
		num("data", uint64(len(f.Data)))
		if len(f.Data) > 0 {
			buf = append(buf, ' ')
			buf = appendQuoted(buf, f.Data, previewLen)
		}
	}
	return append(buf, '\n')
}

// appendFlags appends the flags set in f by their letters ("M|F|C"), "0"
// for none, and any bit the type does not define in hex.
func (f *frame) appendFlags(buf []byte) []byte {
	type bit struct {
		mask uint16
		name string
	}
	bits := [...]bit{{flagIgnore, "I"}, {flagMetadata, "M"}, {flag80, ""}, {flag40, ""}, {flag20, ""}}
	switch f.Type {
	case typeSetup:
		bits[2].name, bits[3].name = "R", "L"
	case typeKeepalive:
		bits[2].name = "R"
	case typeRequestResponse, typeRequestFNF, typeRequestStream:
		bits[2].name = "F"
	case typeRequestChannel:
		bits[2].name, bits[3].name = "F", "C"
	case typePayload:
		bits[2].name, bits[3].name, bits[4].name = "F", "C", "N"
	}
	start, rest := len(buf), f.Flags
	for _, b := range bits {
		if f.Flags&b.mask == 0 || b.name == "" {
			continue
		}
		if len(buf) > start {
			buf = append(buf, '|')
		}
		buf = append(buf, b.name...)
		rest &^= b.mask
	}
	if rest != 0 {
		if len(buf) > start {
			buf = append(buf, '|')
		}
		buf = append(buf, "0x"...)
		buf = strconv.AppendUint(buf, uint64(rest), 16)
	}
	if len(buf) == start {
		buf = append(buf, '0')
	}
	return buf
}

// appendQuoted appends the first max bytes of b as a Go string literal
// (printable, one line), and "…" after it when b is longer.
func appendQuoted(buf, b []byte, max int) []byte {
	cut := len(b) > max
	if cut {
		b = b[:max]
	}
	buf = strconv.AppendQuote(buf, string(b))
	if cut {
		buf = append(buf, "…"...)
	}
	return buf
}
