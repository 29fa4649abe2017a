package wire

import (
	"encoding/binary"
	"slices"
)

// Encoders. Each appends one frame without a length prefix and allocates only
// when cap(b) is too small. Reserved top bits of the stream id and of the
// 31- and 63-bit fields are written as 0 (values are masked). A length that
// its field cannot hold (metadata over MaxMetadataLength, a MIME type over
// 255 bytes, a resume token over 65535 bytes) is a programming error and
// panics: check peer- or user-supplied sizes before encoding.

// grow extends b by n bytes and returns the extended slice and its last n
// bytes, to be filled in.
func grow(b []byte, n int) (all, tail []byte) {
	b = slices.Grow(b, n)
	l := len(b)
	b = b[:l+n]
	return b, b[l:]
}

func putHeader(w []byte, streamID uint32, t FrameType, flags Flags) {
	binary.BigEndian.PutUint32(w, streamID&MaxStreamID)
	binary.BigEndian.PutUint16(w[4:], uint16(t&0x3f)<<10|uint16(flags&flagMask))
}

// putMetadataAndData writes [u24 length][metadata] if metadata != nil, then
// data, and returns what is left of w.
func putMetadataAndData(w, metadata, data []byte) []byte {
	if metadata != nil {
		n := len(metadata)
		if n > MaxMetadataLength {
			panic("wire: metadata longer than MaxMetadataLength")
		}
		w[0], w[1], w[2] = byte(n>>16), byte(n>>8), byte(n)
		w = w[metaLenSize+copy(w[metaLenSize:], metadata):]
	}
	return w[copy(w, data):]
}

func metadataFlag(metadata []byte) Flags {
	if metadata != nil {
		return FlagMetadata
	}
	return 0
}

func metadataAndDataSize(metadata, data []byte) int {
	n := len(data)
	if metadata != nil {
		n += metaLenSize + len(metadata)
	}
	return n
}

// AppendHeader appends a 6-byte frame header.
func AppendHeader(b []byte, streamID uint32, t FrameType, flags Flags) []byte {
	b, w := grow(b, HeaderSize)
	putHeader(w, streamID, t, flags)
	return b
}

// PayloadSize is the encoded length of a PAYLOAD (also REQUEST_RESPONSE or
// REQUEST_FNF) frame: header, the 3-byte metadata length and metadata if
// metadata != nil, data.
func PayloadSize(metadata, data []byte) int {
	return HeaderSize + metadataAndDataSize(metadata, data)
}

// AppendPayload appends a PAYLOAD frame. M is set iff metadata != nil (an
// empty non-nil metadata is sent as present with length 0); the M bit of
// flags is ignored, the F, C and N bits are written as given.
func AppendPayload(b []byte, streamID uint32, flags Flags, metadata, data []byte) []byte {
	b, w := grow(b, PayloadSize(metadata, data))
	putHeader(w, streamID, TypePayload, flags&^FlagMetadata|metadataFlag(metadata))
	putMetadataAndData(w[HeaderSize:], metadata, data)
	return b
}

// PutPayloadHeader writes the header of a PAYLOAD frame without metadata
// into w[:HeaderSize]: the frame's data is written after it by the caller
// (a payload built in place). The M bit of flags is ignored.
func PutPayloadHeader(w []byte, streamID uint32, flags Flags) {
	putHeader(w, streamID, TypePayload, flags&^FlagMetadata)
}

// hasInitialN reports whether t carries an Initial Request N field.
func hasInitialN(t FrameType) bool {
	return t == TypeRequestStream || t == TypeRequestChannel
}

// RequestSize is the encoded length of a request frame of type t:
// PayloadSize plus 4 bytes of initial request n for REQUEST_STREAM and
// REQUEST_CHANNEL.
func RequestSize(t FrameType, metadata, data []byte) int {
	n := PayloadSize(metadata, data)
	if hasInitialN(t) {
		n += 4
	}
	return n
}

// AppendRequest appends a REQUEST_RESPONSE, REQUEST_FNF, REQUEST_STREAM or
// REQUEST_CHANNEL frame. initialN is written for REQUEST_STREAM and
// REQUEST_CHANNEL only (it MUST be > 0 there). M is set iff metadata != nil.
func AppendRequest(b []byte, t FrameType, streamID uint32, flags Flags, initialN uint32, metadata, data []byte) []byte {
	b, w := grow(b, RequestSize(t, metadata, data))
	putHeader(w, streamID, t, flags&^FlagMetadata|metadataFlag(metadata))
	w = w[HeaderSize:]
	if hasInitialN(t) {
		binary.BigEndian.PutUint32(w, initialN&MaxRequestN)
		w = w[4:]
	}
	putMetadataAndData(w, metadata, data)
	return b
}

// AppendRequestN appends a REQUEST_N frame (n MUST be > 0).
func AppendRequestN(b []byte, streamID uint32, n uint32) []byte {
	b, w := grow(b, HeaderSize+4)
	putHeader(w, streamID, TypeRequestN, 0)
	binary.BigEndian.PutUint32(w[HeaderSize:], n&MaxRequestN)
	return b
}

// AppendCancel appends a CANCEL frame.
func AppendCancel(b []byte, streamID uint32) []byte {
	return AppendHeader(b, streamID, TypeCancel, 0)
}

// AppendError appends an ERROR frame; msg should be UTF-8.
func AppendError(b []byte, streamID uint32, code ErrorCode, msg string) []byte {
	b, w := grow(b, HeaderSize+4+len(msg))
	putHeader(w, streamID, TypeError, 0)
	binary.BigEndian.PutUint32(w[HeaderSize:], uint32(code))
	copy(w[HeaderSize+4:], msg)
	return b
}

// AppendKeepalive appends a KEEPALIVE frame on stream 0, with R iff respond.
func AppendKeepalive(b []byte, respond bool, lastPos uint64, data []byte) []byte {
	var flags Flags
	if respond {
		flags = FlagRespond
	}
	b, w := grow(b, HeaderSize+8+len(data))
	putHeader(w, 0, TypeKeepalive, flags)
	binary.BigEndian.PutUint64(w[HeaderSize:], lastPos&MaxPosition)
	copy(w[HeaderSize+8:], data)
	return b
}

// AppendLease appends a LEASE frame on stream 0; M is set iff metadata != nil.
func AppendLease(b []byte, ttl, n uint32, metadata []byte) []byte {
	b, w := grow(b, HeaderSize+8+len(metadata))
	putHeader(w, 0, TypeLease, metadataFlag(metadata))
	binary.BigEndian.PutUint32(w[HeaderSize:], ttl&MaxStreamID)
	binary.BigEndian.PutUint32(w[HeaderSize+4:], n&MaxStreamID)
	copy(w[HeaderSize+8:], metadata)
	return b
}

// AppendMetadataPush appends a METADATA_PUSH frame on stream 0 (M always set).
func AppendMetadataPush(b []byte, metadata []byte) []byte {
	b, w := grow(b, HeaderSize+len(metadata))
	putHeader(w, 0, TypeMetadataPush, FlagMetadata)
	copy(w[HeaderSize:], metadata)
	return b
}

// AppendResume appends a RESUME frame on stream 0.
func AppendResume(b []byte, major, minor uint16, token []byte, lastReceivedServerPos, firstAvailableClientPos uint64) []byte {
	return Append(b, &Frame{Type: TypeResume, MajorVersion: major, MinorVersion: minor, ResumeToken: token,
		LastPosition: lastReceivedServerPos, FirstAvailablePosition: firstAvailableClientPos})
}

// AppendResumeOK appends a RESUME_OK frame on stream 0.
func AppendResumeOK(b []byte, lastReceivedClientPos uint64) []byte {
	b, w := grow(b, HeaderSize+8)
	putHeader(w, 0, TypeResumeOK, 0)
	binary.BigEndian.PutUint64(w[HeaderSize:], lastReceivedClientPos&MaxPosition)
	return b
}

// AppendSetup appends a SETUP frame from f's SETUP fields, on stream 0
// whatever f.Type and f.StreamID say. M is set iff f.Metadata != nil, R iff
// f.ResumeToken != nil; L and other bits come from f.Flags.
func AppendSetup(b []byte, f *Frame) []byte {
	s := *f
	s.Type, s.StreamID = TypeSetup, 0
	return Append(b, &s)
}

// presenceFlags returns f.Flags with M (and R on SETUP) derived from the
// presence of f.Metadata (and f.ResumeToken), as documented on Frame.
func presenceFlags(f *Frame) Flags {
	flags := f.Flags & flagMask
	if hasMetadata(f.Type) {
		flags = flags&^FlagMetadata | metadataFlag(f.Metadata)
	}
	if f.Type == TypeSetup {
		flags &^= FlagResume
		if f.ResumeToken != nil {
			flags |= FlagResume
		}
	}
	return flags
}

// Size returns the encoded length of f without a length prefix: the number
// of bytes Append(nil, f) produces.
func Size(f *Frame) int {
	switch f.Type {
	case TypeSetup:
		n := HeaderSize + 12 + 1 + len(f.MetadataMIME) + 1 + len(f.DataMIME) + metadataAndDataSize(f.Metadata, f.Data)
		if f.ResumeToken != nil {
			n += 2 + len(f.ResumeToken)
		}
		return n
	case TypeLease:
		return HeaderSize + 8 + len(f.Metadata)
	case TypeKeepalive:
		return HeaderSize + 8 + len(f.Data)
	case TypeRequestResponse, TypeRequestFNF, TypeRequestStream, TypeRequestChannel, TypePayload:
		return RequestSize(f.Type, f.Metadata, f.Data)
	case TypeRequestN:
		return HeaderSize + 4
	case TypeCancel:
		return HeaderSize
	case TypeError:
		return HeaderSize + 4 + len(f.Data)
	case TypeMetadataPush:
		return HeaderSize + len(f.Metadata)
	case TypeResume:
		return HeaderSize + 6 + len(f.ResumeToken) + 16
	case TypeResumeOK:
		return HeaderSize + 8
	case TypeExt:
		return HeaderSize + 4 + metadataAndDataSize(f.Metadata, f.Data)
	}
	return HeaderSize + len(f.Data)
}

// Append appends the encoding of f (without a length prefix) to b. The
// fields f.Type uses are written (see Frame); the others are ignored. Flags
// come from f.Flags except the presence bits: M is set iff f.Metadata != nil
// on every type that can carry metadata (always on METADATA_PUSH, which
// then encodes a nil Metadata as empty), and R on SETUP iff
// f.ResumeToken != nil. A type this package does not know is written as
// header plus f.Data.
//
// For every b that Parse accepts, Append(nil, f) after Parse(b, f) equals b
// except for three canonicalizations: the reserved top bit of the stream id,
// which Parse masks off, is written as 0; a LEASE that carried metadata
// without the M flag and a METADATA_PUSH without it (rsocket-js does both)
// are written with M set.
func Append(b []byte, f *Frame) []byte {
	size := Size(f)
	b, w := grow(b, size)
	flags := presenceFlags(f)
	if f.Type == TypeMetadataPush {
		flags |= FlagMetadata
	}
	putHeader(w, f.StreamID, f.Type, flags)
	w = w[HeaderSize:]
	switch f.Type {
	case TypeSetup:
		binary.BigEndian.PutUint16(w, f.MajorVersion)
		binary.BigEndian.PutUint16(w[2:], f.MinorVersion)
		binary.BigEndian.PutUint32(w[4:], f.KeepaliveInterval&MaxStreamID)
		binary.BigEndian.PutUint32(w[8:], f.MaxLifetime&MaxStreamID)
		w = w[12:]
		if f.ResumeToken != nil {
			w = putToken(w, f.ResumeToken)
		}
		w = putMIME(w, f.MetadataMIME)
		w = putMIME(w, f.DataMIME)
		putMetadataAndData(w, f.Metadata, f.Data)
	case TypeLease:
		binary.BigEndian.PutUint32(w, f.TTL&MaxStreamID)
		binary.BigEndian.PutUint32(w[4:], f.NumRequests&MaxStreamID)
		copy(w[8:], f.Metadata)
	case TypeKeepalive:
		binary.BigEndian.PutUint64(w, f.LastPosition&MaxPosition)
		copy(w[8:], f.Data)
	case TypeRequestResponse, TypeRequestFNF, TypePayload:
		putMetadataAndData(w, f.Metadata, f.Data)
	case TypeRequestStream, TypeRequestChannel:
		binary.BigEndian.PutUint32(w, f.InitialN&MaxRequestN)
		putMetadataAndData(w[4:], f.Metadata, f.Data)
	case TypeRequestN:
		binary.BigEndian.PutUint32(w, f.N&MaxRequestN)
	case TypeCancel:
	case TypeError:
		binary.BigEndian.PutUint32(w, uint32(f.ErrorCode))
		copy(w[4:], f.Data)
	case TypeMetadataPush:
		copy(w, f.Metadata)
	case TypeResume:
		binary.BigEndian.PutUint16(w, f.MajorVersion)
		binary.BigEndian.PutUint16(w[2:], f.MinorVersion)
		w = putToken(w[4:], f.ResumeToken)
		binary.BigEndian.PutUint64(w, f.LastPosition&MaxPosition)
		binary.BigEndian.PutUint64(w[8:], f.FirstAvailablePosition&MaxPosition)
	case TypeResumeOK:
		binary.BigEndian.PutUint64(w, f.LastPosition&MaxPosition)
	case TypeExt:
		binary.BigEndian.PutUint32(w, f.ExtendedType&MaxStreamID)
		putMetadataAndData(w[4:], f.Metadata, f.Data)
	default:
		copy(w, f.Data)
	}
	return b
}

func putToken(w, token []byte) []byte {
	if len(token) > 0xFFFF {
		panic("wire: resume token longer than 65535 bytes")
	}
	binary.BigEndian.PutUint16(w, uint16(len(token)))
	return w[2+copy(w[2:], token):]
}

func putMIME(w, mime []byte) []byte {
	if len(mime) > 0xFF {
		panic("wire: MIME type longer than 255 bytes")
	}
	w[0] = byte(len(mime))
	return w[1+copy(w[1:], mime):]
}
