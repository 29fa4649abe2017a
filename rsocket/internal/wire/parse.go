package wire

import "encoding/binary"

// ParseHeader decodes the 6-byte header of the frame b, for cheap dispatch.
// The reserved top bit of the stream id is masked off.
func ParseHeader(b []byte) (streamID uint32, t FrameType, flags Flags, err error) {
	if len(b) < HeaderSize {
		return 0, 0, 0, errShort(0, "header needs 6 bytes")
	}
	streamID = binary.BigEndian.Uint32(b) & MaxStreamID
	tf := binary.BigEndian.Uint16(b[4:])
	return streamID, FrameType(tf >> 10), Flags(tf & flagMask), nil
}

// parsers dispatches on the frame type; nil entries are unknown types.
// Each parser gets the frame body (after the header) and a Frame whose
// header fields are set and whose other fields are zero.
var parsers = [64]func(body []byte, f *Frame) error{
	TypeSetup:           parseSetup,
	TypeLease:           parseLease,
	TypeKeepalive:       parseKeepalive,
	TypeRequestResponse: parseRequest,
	TypeRequestFNF:      parseRequest,
	TypeRequestStream:   parseRequestN,
	TypeRequestChannel:  parseRequestN,
	TypeRequestN:        parseRequestNFrame,
	TypeCancel:          parseCancel,
	TypePayload:         parseRequest,
	TypeError:           parseError,
	TypeMetadataPush:    parseMetadataPush,
	TypeResume:          parseResume,
	TypeResumeOK:        parseResumeOK,
	TypeExt:             parseExt,
}

// Parse decodes the frame b (without a length prefix) into f, overwriting
// every field of f. The byte-slice fields of f are views into b. Parse never
// allocates on success and never panics.
//
// Parse checks structure only: that every field fits in b, that reserved
// bits of 31- and 63-bit fields are 0, that request n values are > 0, that a
// fixed-size frame has no trailing bytes. Whether a type is allowed on f's
// stream is CheckStream's job (the engine ignores METADATA_PUSH on a stream
// other than 0 instead of failing), the SETUP values are ValidateSetup's.
//
// Errors are *ParseError wrapping ErrShort, ErrMalformed or ErrUnknownType.
// When the header could be read, f.StreamID, f.Type and f.Flags are set even
// on error, so the receiver can answer on the right stream or honour the I
// flag; for an unknown type f.Data is the body.
func Parse(b []byte, f *Frame) error {
	id, t, flags, err := ParseHeader(b)
	if err != nil {
		*f = Frame{}
		return err
	}
	*f = Frame{StreamID: id, Type: t, Flags: flags}
	p := parsers[t&0x3f]
	if p == nil {
		f.Data = b[HeaderSize:]
		return &ParseError{Type: t, Reason: "type not defined by RSocket 1.0", Err: ErrUnknownType}
	}
	return p(b[HeaderSize:], f)
}

// metadataAndData splits the tail of SETUP, REQUEST_*, PAYLOAD and EXT.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Metadata Length                  |
//	+-+-------------------------------------------------------------+
//	|                       Metadata Payload                       ...
//	+---------------------------------------------------------------+
//	|                       Payload of Frame                       ...
//	+---------------------------------------------------------------+
//
// The Metadata Length is present only when M is set. Spec: "Metadata Length
// MUST be less than or equal to the Frame Length minus the length of the
// Frame Header. If Metadata Length is greater than this value, the entire
// frame MUST be ignored." That case is ErrMetadataPastEnd (an ErrShort).
func metadataAndData(b []byte, f *Frame) error {
	if f.Flags&FlagMetadata == 0 {
		f.Data = b
		return nil
	}
	if len(b) < metaLenSize {
		return errShort(f.Type, "metadata length needs 3 bytes")
	}
	n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
	b = b[metaLenSize:]
	if n > len(b) {
		return &ParseError{Type: f.Type, Reason: "metadata length past end of frame", Err: ErrMetadataPastEnd}
	}
	f.Metadata = b[:n:n]
	f.Data = b[n:]
	return nil
}

// u31 reads a 31-bit field whose top bit is reserved ("0" in the diagrams).
func u31(t FrameType, b []byte, what string) (uint32, error) {
	v := binary.BigEndian.Uint32(b)
	if v > MaxStreamID {
		return 0, errMalformed(t, what+" has its reserved top bit set")
	}
	return v, nil
}

// u63 reads a 63-bit position whose top bit is reserved.
func u63(t FrameType, b []byte, what string) (uint64, error) {
	v := binary.BigEndian.Uint64(b)
	if v > MaxPosition {
		return 0, errMalformed(t, what+" has its reserved top bit set")
	}
	return v, nil
}

// parseSetup decodes SETUP.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+-+-+-----------+-------------------------------+
//	|Frame Type |0|M|R|L|  Flags    |
//	+-----------+-+-+-+-+-----------+-------------------------------+
//	|         Major Version         |        Minor Version          |
//	+-------------------------------+-------------------------------+
//	|0|                 Time Between KEEPALIVE Frames               |
//	+---------------------------------------------------------------+
//	|0|                       Max Lifetime                          |
//	+---------------------------------------------------------------+
//	|         Token Length          | Resume Identification Token  ...
//	+---------------+-----------------------------------------------+
//	|  MIME Length  |   Metadata Encoding MIME Type                ...
//	+---------------+-----------------------------------------------+
//	|  MIME Length  |     Data Encoding MIME Type                  ...
//	+---------------+-----------------------------------------------+
//	                      Metadata & Setup Payload
//
// Token Length and Token are "Not present if R flag is not set". The MIME
// types "SHOULD be a US-ASCII string" and "MUST NOT be null terminated";
// the protocol "MUST NOT interpret the MIME type itself", so Parse does not
// check their content. Version and the "MUST be > 0" of the two durations
// are checked by ValidateSetup.
func parseSetup(b []byte, f *Frame) error {
	const fixed = 2 + 2 + 4 + 4
	if len(b) < fixed {
		return errShort(TypeSetup, "versions, keepalive and lifetime need 12 bytes")
	}
	f.MajorVersion = binary.BigEndian.Uint16(b)
	f.MinorVersion = binary.BigEndian.Uint16(b[2:])
	var err error
	if f.KeepaliveInterval, err = u31(TypeSetup, b[4:], "keepalive interval"); err != nil {
		return err
	}
	if f.MaxLifetime, err = u31(TypeSetup, b[8:], "max lifetime"); err != nil {
		return err
	}
	b = b[fixed:]
	if f.Flags&FlagResume != 0 {
		if len(b) < 2 {
			return errShort(TypeSetup, "resume token length needs 2 bytes")
		}
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		if n > len(b) {
			return errShort(TypeSetup, "resume token length past end of frame")
		}
		f.ResumeToken = b[:n:n]
		b = b[n:]
	}
	if len(b) < 1 {
		return errShort(TypeSetup, "metadata MIME length missing")
	}
	n := int(b[0])
	if 1+n > len(b) {
		return errShort(TypeSetup, "metadata MIME length past end of frame")
	}
	f.MetadataMIME = b[1 : 1+n : 1+n]
	b = b[1+n:]
	if len(b) < 1 {
		return errShort(TypeSetup, "data MIME length missing")
	}
	n = int(b[0])
	if 1+n > len(b) {
		return errShort(TypeSetup, "data MIME length past end of frame")
	}
	f.DataMIME = b[1 : 1+n : 1+n]
	return metadataAndData(b[1+n:], f)
}

// parseLease decodes LEASE.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|M|     Flags     |
//	+-----------+-+-+---------------+-------------------------------+
//	|0|                       Time-To-Live                          |
//	+---------------------------------------------------------------+
//	|0|                     Number of Requests                      |
//	+---------------------------------------------------------------+
//	                            Metadata
//
// The metadata has no length: it is the rest of the frame, present iff M.
// Interop: rsocket-js 0.0.27 sends LEASE metadata with M unset (flags 0) and
// reads any bytes after Number of Requests as metadata; Parse does the same,
// so f.Metadata is non-nil when M is set or bytes follow. Append then sets
// M: the one case where a re-encoded frame differs from its input.
func parseLease(b []byte, f *Frame) error {
	if len(b) < 8 {
		return errShort(TypeLease, "TTL and number of requests need 8 bytes")
	}
	var err error
	if f.TTL, err = u31(TypeLease, b, "time-to-live"); err != nil {
		return err
	}
	if f.NumRequests, err = u31(TypeLease, b[4:], "number of requests"); err != nil {
		return err
	}
	b = b[8:]
	if f.Flags&FlagMetadata != 0 || len(b) != 0 {
		f.Metadata = b
	}
	return nil
}

// parseKeepalive decodes KEEPALIVE.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+-+-------------+-------------------------------+
//	|Frame Type |0|0|R|    Flags    |
//	+-----------+-+-+-+-------------+-------------------------------+
//	|0|                  Last Received Position                     |
//	+                                                               +
//	|                                                               |
//	+---------------------------------------------------------------+
//	                             Data
//
// R: "Respond with KEEPALIVE or not"; the answer echoes Data with R unset.
func parseKeepalive(b []byte, f *Frame) error {
	if len(b) < 8 {
		return errShort(TypeKeepalive, "last received position needs 8 bytes")
	}
	var err error
	if f.LastPosition, err = u63(TypeKeepalive, b, "last received position"); err != nil {
		return err
	}
	f.Data = b[8:]
	return nil
}

// parseRequest decodes REQUEST_RESPONSE, REQUEST_FNF and PAYLOAD, which
// share a layout.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+-+-+-+---------+-------------------------------+
//	|Frame Type |0|M|F|C|N|  Flags  |
//	+-------------------------------+-------------------------------+
//	                     Metadata & Data
//
// (C and N exist on PAYLOAD only.) PAYLOAD: "A PAYLOAD MUST NOT have both
// the C and N flags unset" is an engine concern, not a layout one; a PAYLOAD
// with C and neither N nor data is a plain completion.
func parseRequest(b []byte, f *Frame) error {
	return metadataAndData(b, f)
}

// parseRequestN decodes REQUEST_STREAM and REQUEST_CHANNEL.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+-+-+-----------+-------------------------------+
//	|Frame Type |0|M|F|C|  Flags    |
//	+-------------------------------+-------------------------------+
//	|0|                    Initial Request N                        |
//	+---------------------------------------------------------------+
//	                      Metadata & Request Data
//
// (C exists on REQUEST_CHANNEL only.) Initial Request N: "Value MUST be > 0."
// A 0 is ErrMalformed; f is fully decoded before that check.
func parseRequestN(b []byte, f *Frame) error {
	if len(b) < 4 {
		return errShort(f.Type, "initial request n needs 4 bytes")
	}
	var err error
	if f.InitialN, err = u31(f.Type, b, "initial request n"); err != nil {
		return err
	}
	if err := metadataAndData(b[4:], f); err != nil {
		return err
	}
	if f.InitialN == 0 {
		return errMalformed(f.Type, "initial request n is 0")
	}
	return nil
}

// parseRequestNFrame decodes REQUEST_N.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|0|     Flags     |
//	+-------------------------------+-------------------------------+
//	|0|                         Request N                           |
//	+---------------------------------------------------------------+
//
// Request N: "Value MUST be > 0."
func parseRequestNFrame(b []byte, f *Frame) error {
	if len(b) < 4 {
		return errShort(TypeRequestN, "request n needs 4 bytes")
	}
	if len(b) > 4 {
		return errMalformed(TypeRequestN, "bytes after request n")
	}
	var err error
	if f.N, err = u31(TypeRequestN, b, "request n"); err != nil {
		return err
	}
	if f.N == 0 {
		return errMalformed(TypeRequestN, "request n is 0")
	}
	return nil
}

// parseCancel decodes CANCEL: the header alone.
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|0|    Flags      |
//	+-------------------------------+
func parseCancel(b []byte, f *Frame) error {
	if len(b) != 0 {
		return errMalformed(TypeCancel, "bytes after header")
	}
	return nil
}

// parseError decodes ERROR.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|0|      Flags    |
//	+-----------+-+-+---------------+-------------------------------+
//	|                          Error Code                           |
//	+---------------------------------------------------------------+
//	                           Error Data
//
// Error Data: "MUST be a UTF-8 encoded string"; Parse leaves that check
// to the receiver (it costs a pass over the data).
func parseError(b []byte, f *Frame) error {
	if len(b) < 4 {
		return errShort(TypeError, "error code needs 4 bytes")
	}
	f.ErrorCode = ErrorCode(binary.BigEndian.Uint32(b))
	f.Data = b[4:]
	return nil
}

// parseMetadataPush decodes METADATA_PUSH.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|1|     Flags     |
//	+-------------------------------+-------------------------------+
//	                            Metadata
//
// The spec says M MUST be set, but rsocket-js 0.0.27 sends METADATA_PUSH with
// M clear (internal/interop/testdata/js/README.md); the frame has no other
// field, so the body is the metadata either way and Parse sets M in f.Flags.
// Append always writes M.
func parseMetadataPush(b []byte, f *Frame) error {
	f.Flags |= FlagMetadata
	f.Metadata = b
	return nil
}

// parseResume decodes RESUME.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|0|    Flags      |
//	+-------------------------------+-------------------------------+
//	|        Major Version          |         Minor Version         |
//	+-------------------------------+-------------------------------+
//	|         Token Length          | Resume Identification Token  ...
//	+---------------------------------------------------------------+
//	|0|                                                             |
//	+                 Last Received Server Position                 +
//	|                                                               |
//	+---------------------------------------------------------------+
//	|0|                                                             |
//	+                First Available Client Position                +
//	|                                                               |
//	+---------------------------------------------------------------+
func parseResume(b []byte, f *Frame) error {
	if len(b) < 6 {
		return errShort(TypeResume, "versions and token length need 6 bytes")
	}
	f.MajorVersion = binary.BigEndian.Uint16(b)
	f.MinorVersion = binary.BigEndian.Uint16(b[2:])
	n := int(binary.BigEndian.Uint16(b[4:]))
	b = b[6:]
	if n > len(b) {
		return errShort(TypeResume, "resume token length past end of frame")
	}
	f.ResumeToken = b[:n:n]
	b = b[n:]
	if len(b) < 16 {
		return errShort(TypeResume, "positions need 16 bytes")
	}
	if len(b) > 16 {
		return errMalformed(TypeResume, "bytes after first available client position")
	}
	var err error
	if f.LastPosition, err = u63(TypeResume, b, "last received server position"); err != nil {
		return err
	}
	f.FirstAvailablePosition, err = u63(TypeResume, b[8:], "first available client position")
	return err
}

// parseResumeOK decodes RESUME_OK.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Stream ID = 0                         |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |0|0|    Flags      |
//	+-------------------------------+-------------------------------+
//	|0|                                                             |
//	+               Last Received Client Position                   +
//	|                                                               |
//	+---------------------------------------------------------------+
func parseResumeOK(b []byte, f *Frame) error {
	if len(b) < 8 {
		return errShort(TypeResumeOK, "last received client position needs 8 bytes")
	}
	if len(b) > 8 {
		return errMalformed(TypeResumeOK, "bytes after last received client position")
	}
	var err error
	f.LastPosition, err = u63(TypeResumeOK, b, "last received client position")
	return err
}

// parseExt decodes EXT.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                           Stream ID                           |
//	+-----------+-+-+---------------+-------------------------------+
//	|Frame Type |I|M|    Flags      |
//	+-------------------------------+-------------------------------+
//	|0|                      Extended Type                          |
//	+---------------------------------------------------------------+
//	                   Depends on Extended Type...
//
// The body after Extended Type is decoded like a PAYLOAD's: a metadata
// length and metadata when M is set, then data.
func parseExt(b []byte, f *Frame) error {
	if len(b) < 4 {
		return errShort(TypeExt, "extended type needs 4 bytes")
	}
	var err error
	if f.ExtendedType, err = u31(TypeExt, b, "extended type"); err != nil {
		return err
	}
	return metadataAndData(b[4:], f)
}
