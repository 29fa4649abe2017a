// Package wire is the RSocket 1.0 frame codec.
//
// It is pure: it neither reads nor writes a transport. Encoders are
// append-style (AppendX(b, ...) []byte) and never allocate when cap(b)
// suffices; Parse fills a caller-owned Frame whose byte-slice fields are views
// into the parsed input, valid exactly as long as that input is (the
// ownership rule of STYLE.md item 9: clone to keep).
//
// Every RSocket frame starts with the same 6-byte header (big-endian):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|0|                         Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |I|M|     Flags     |     Depends on Frame Type    ...
//	+-------------------------------+
//
// Byte-stream transports (TCP) put a 24-bit frame length before each frame
// (AppendLength, ReadLength); Parse, Size and Append never include it.
package wire

import "strconv"

// FrameType is the 6-bit frame type of the header.
type FrameType uint8

// Frame types of RSocket 1.0 ("Frame Types" table of Protocol.md).
const (
	TypeReserved        FrameType = 0x00
	TypeSetup           FrameType = 0x01
	TypeLease           FrameType = 0x02
	TypeKeepalive       FrameType = 0x03
	TypeRequestResponse FrameType = 0x04
	TypeRequestFNF      FrameType = 0x05
	TypeRequestStream   FrameType = 0x06
	TypeRequestChannel  FrameType = 0x07
	TypeRequestN        FrameType = 0x08
	TypeCancel          FrameType = 0x09
	TypePayload         FrameType = 0x0A
	TypeError           FrameType = 0x0B
	TypeMetadataPush    FrameType = 0x0C
	TypeResume          FrameType = 0x0D
	TypeResumeOK        FrameType = 0x0E
	TypeExt             FrameType = 0x3F
)

var frameNames = [64]string{
	TypeReserved:        "RESERVED",
	TypeSetup:           "SETUP",
	TypeLease:           "LEASE",
	TypeKeepalive:       "KEEPALIVE",
	TypeRequestResponse: "REQUEST_RESPONSE",
	TypeRequestFNF:      "REQUEST_FNF",
	TypeRequestStream:   "REQUEST_STREAM",
	TypeRequestChannel:  "REQUEST_CHANNEL",
	TypeRequestN:        "REQUEST_N",
	TypeCancel:          "CANCEL",
	TypePayload:         "PAYLOAD",
	TypeError:           "ERROR",
	TypeMetadataPush:    "METADATA_PUSH",
	TypeResume:          "RESUME",
	TypeResumeOK:        "RESUME_OK",
	TypeExt:             "EXT",
}

// String returns the spec's name of t ("REQUEST_STREAM"), or
// "FrameType(0x1f)" for a value without one.
func (t FrameType) String() string {
	if int(t) < len(frameNames) && frameNames[t] != "" {
		return frameNames[t]
	}
	return "FrameType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// Known reports whether t is a frame type this package decodes: SETUP through
// RESUME_OK, and EXT. RESERVED (0x00) is not known.
func (t FrameType) Known() bool {
	return (t >= TypeSetup && t <= TypeResumeOK) || t == TypeExt
}

// Flags are the 10 flag bits of the header. The low 8 bits mean different
// things per frame type, hence the aliases below.
type Flags uint16

// Flag bits. Bits not defined for a frame type are sent as 0 and not
// interpreted on reception; Parse keeps them so that a frame round-trips.
const (
	FlagIgnore   Flags = 0x200 // I: ignore the frame if not understood
	FlagMetadata Flags = 0x100 // M: metadata present
	FlagFollows  Flags = 0x080 // F: more fragments follow (REQUEST_*, PAYLOAD)
	FlagComplete Flags = 0x040 // C: stream completion (REQUEST_CHANNEL, PAYLOAD)
	FlagNext     Flags = 0x020 // N: payload carries data and/or metadata (PAYLOAD)
	FlagResume   Flags = 0x080 // R in SETUP: resume enable, token present
	FlagLease    Flags = 0x040 // L in SETUP: will honor LEASE
	FlagRespond  Flags = 0x080 // R in KEEPALIVE: the receiver must answer
)

// flagMask keeps the 10 flag bits of a Flags value.
const flagMask = 0x3FF

// ErrorCode is the 32-bit code of an ERROR frame.
type ErrorCode uint32

// Error codes of RSocket 1.0. The setup-class codes, CONNECTION_ERROR and
// CONNECTION_CLOSE go on stream 0; the others on a stream > 0.
const (
	ErrInvalidSetup     ErrorCode = 0x001
	ErrUnsupportedSetup ErrorCode = 0x002
	ErrRejectedSetup    ErrorCode = 0x003
	ErrRejectedResume   ErrorCode = 0x004
	ErrConnectionError  ErrorCode = 0x101
	ErrConnectionClose  ErrorCode = 0x102
	ErrApplicationError ErrorCode = 0x201
	ErrRejected         ErrorCode = 0x202
	ErrCanceled         ErrorCode = 0x203
	ErrInvalid          ErrorCode = 0x204
)

// errorNames is indexed by code>>8 (class) then code&0xff.
var errorNames = [3][5]string{
	{1: "INVALID_SETUP", 2: "UNSUPPORTED_SETUP", 3: "REJECTED_SETUP", 4: "REJECTED_RESUME"},
	{1: "CONNECTION_ERROR", 2: "CONNECTION_CLOSE"},
	{1: "APPLICATION_ERROR", 2: "REJECTED", 3: "CANCELED", 4: "INVALID"},
}

// String returns the spec's name of c ("APPLICATION_ERROR"), or the code
// in hex ("0x301") for one without a name, such as an application's own.
func (c ErrorCode) String() string {
	if n := c.Name(); n != "" {
		return n
	}
	return "0x" + strconv.FormatUint(uint64(c), 16)
}

// Name returns the spec's name of c, or "" for a code without one.
func (c ErrorCode) Name() string {
	if hi, lo := c>>8, c&0xff; hi < 3 && lo < 5 {
		return errorNames[hi][lo]
	}
	return ""
}

// ConnectionLevel reports whether c belongs on stream 0: the setup-class
// codes, CONNECTION_ERROR and CONNECTION_CLOSE.
func (c ErrorCode) ConnectionLevel() bool {
	return (c >= ErrInvalidSetup && c <= ErrRejectedResume) || c == ErrConnectionError || c == ErrConnectionClose
}

// Sizes and limits.
const (
	// HeaderSize is the length of the frame header: stream id, type and flags.
	HeaderSize = 6
	// MaxFrameLength is the largest frame a 24-bit length prefix can announce.
	MaxFrameLength = 1<<24 - 1
	// MaxStreamID is the largest 31-bit stream id.
	MaxStreamID = 1<<31 - 1
	// MaxRequestN is the largest request(n); it means "unbounded" to peers.
	MaxRequestN = 1<<31 - 1
	// MaxMetadataLength is the largest 24-bit metadata length.
	MaxMetadataLength = 1<<24 - 1
	// MaxPosition is the largest 63-bit resume position.
	MaxPosition = 1<<63 - 1
	// LengthSize is the size of the 24-bit length prefix on byte streams.
	LengthSize = 3
	// metaLenSize is the size of the 24-bit metadata length.
	metaLenSize = 3
)

// Frame is a decoded frame. Every []byte field is a view into the input of
// Parse, valid as long as that input is; Clone to keep one.
//
// Which fields a frame type uses:
//
//	SETUP            Flags(M,R,L) MajorVersion MinorVersion KeepaliveInterval MaxLifetime
//	                 ResumeToken(iff R) MetadataMIME DataMIME Metadata(iff M) Data
//	LEASE            TTL NumRequests Metadata(no length: rest of frame; see parseLease)
//	KEEPALIVE        Flags(R) LastPosition Data
//	REQUEST_RESPONSE Flags(M,F) Metadata(iff M) Data
//	REQUEST_FNF      Flags(M,F) Metadata(iff M) Data
//	REQUEST_STREAM   Flags(M,F) InitialN Metadata(iff M) Data
//	REQUEST_CHANNEL  Flags(M,F,C) InitialN Metadata(iff M) Data
//	REQUEST_N        N
//	CANCEL           -
//	PAYLOAD          Flags(M,F,C,N) Metadata(iff M) Data
//	ERROR            ErrorCode Data (UTF-8 message)
//	METADATA_PUSH    Metadata (M always set, no length: rest of frame)
//	RESUME           MajorVersion MinorVersion ResumeToken
//	                 LastPosition (last received server position)
//	                 FirstAvailablePosition (first available client position)
//	RESUME_OK        LastPosition (last received client position)
//	EXT              Flags(I,M) ExtendedType Metadata(iff M) Data
//
// Presence rule, used by Parse and Append alike: Metadata is non-nil iff the
// M flag is set, for every type that can carry metadata (SETUP, LEASE,
// REQUEST_*, PAYLOAD, METADATA_PUSH, EXT); on SETUP, ResumeToken is non-nil
// iff the R flag is set. One exception for interop: a LEASE with bytes after
// its fixed fields but no M (as rsocket-js sends it) parses with those bytes
// as Metadata. Append derives M (and R on SETUP) from these fields
// and ignores those bits of Flags; all other flag bits are written as given.
type Frame struct {
	StreamID uint32
	Type     FrameType
	Flags    Flags

	Metadata []byte
	Data     []byte

	InitialN  uint32    // REQUEST_STREAM, REQUEST_CHANNEL
	N         uint32    // REQUEST_N
	ErrorCode ErrorCode // ERROR

	// SETUP and RESUME.
	MajorVersion, MinorVersion     uint16
	KeepaliveInterval, MaxLifetime uint32 // milliseconds (SETUP)
	ResumeToken                    []byte
	MetadataMIME, DataMIME         []byte // SETUP, US-ASCII

	// LEASE.
	TTL         uint32 // milliseconds
	NumRequests uint32

	// KEEPALIVE: last received position. RESUME: last received server
	// position. RESUME_OK: last received client position.
	LastPosition uint64
	// RESUME: first available client position.
	FirstAvailablePosition uint64

	// EXT.
	ExtendedType uint32
}

// Clone returns a copy of f whose byte-slice fields own their memory, so it
// outlives the buffer f was parsed from. Nil fields stay nil, empty non-nil
// fields stay empty and non-nil (the presence rule survives a Clone).
func (f *Frame) Clone() Frame {
	c := *f
	n := len(f.Metadata) + len(f.Data) + len(f.ResumeToken) + len(f.MetadataMIME) + len(f.DataMIME)
	buf := make([]byte, 0, n)
	clone := func(p []byte) []byte {
		if p == nil {
			return nil
		}
		start := len(buf)
		buf = append(buf, p...)
		return buf[start:len(buf):len(buf)]
	}
	c.Metadata = clone(f.Metadata)
	c.Data = clone(f.Data)
	c.ResumeToken = clone(f.ResumeToken)
	c.MetadataMIME = clone(f.MetadataMIME)
	c.DataMIME = clone(f.DataMIME)
	return c
}

// hasMetadata reports whether frames of type t can carry metadata, that is
// whether the M flag means "metadata present" for t.
func hasMetadata(t FrameType) bool {
	switch t {
	case TypeSetup, TypeLease, TypeRequestResponse, TypeRequestFNF, TypeRequestStream,
		TypeRequestChannel, TypePayload, TypeMetadataPush, TypeExt:
		return true
	}
	return false
}
