package wire

// Checks that go beyond the layout. Parse does not make them, so that the
// receiver picks the reaction the spec asks for (ignore the frame, ERROR on
// the stream, or ERROR on stream 0 and close).

// CheckStream reports whether f's type may travel on f.StreamID, as a
// *ParseError wrapping ErrWrongStream:
//
//   - SETUP, LEASE, KEEPALIVE, METADATA_PUSH, RESUME and RESUME_OK MUST be on
//     stream 0 ("Setup frames MUST always use Stream ID 0 as they pertain to
//     the connection"; likewise for the others).
//   - REQUEST_*, REQUEST_N, CANCEL and PAYLOAD MUST be on a stream > 0.
//   - ERROR and EXT may be on either; unknown types are not checked.
//
// "Handling the Unexpected" asks the receiver to ignore a METADATA_PUSH on a
// non-zero stream; a request type on stream 0 is a connection error.
func (f *Frame) CheckStream() error {
	switch f.Type {
	case TypeSetup, TypeLease, TypeKeepalive, TypeMetadataPush, TypeResume, TypeResumeOK:
		if f.StreamID != 0 {
			return &ParseError{Type: f.Type, Reason: "must be on stream 0", Err: ErrWrongStream}
		}
	case TypeRequestResponse, TypeRequestFNF, TypeRequestStream, TypeRequestChannel,
		TypeRequestN, TypeCancel, TypePayload:
		if f.StreamID == 0 {
			return &ParseError{Type: f.Type, Reason: "must be on a stream > 0", Err: ErrWrongStream}
		}
	}
	return nil
}

// Protocol version this package speaks.
const (
	MajorVersion = 1
	MinorVersion = 0
)

// ValidateSetup checks the values of a parsed SETUP beyond its layout, as a
// *ParseError wrapping ErrMalformed. A receiver answers a failure with
// ERROR INVALID_SETUP (UNSUPPORTED_SETUP for the version) on stream 0.
//
//   - Version: this package speaks 1.0; another major version is refused
//     ("It is up to a server to accept clients of lower versions").
//   - Time Between KEEPALIVE Frames: "Value MUST be > 0."
//   - Max Lifetime: "Value MUST be > 0."
//   - MIME types "SHOULD be a US-ASCII string"; a non-ASCII byte is refused.
func (f *Frame) ValidateSetup() error {
	if f.Type != TypeSetup {
		return errMalformed(f.Type, "not a SETUP frame")
	}
	if f.MajorVersion != MajorVersion {
		return errMalformed(TypeSetup, "unsupported major version")
	}
	if f.KeepaliveInterval == 0 {
		return errMalformed(TypeSetup, "keepalive interval is 0")
	}
	if f.MaxLifetime == 0 {
		return errMalformed(TypeSetup, "max lifetime is 0")
	}
	if !ascii(f.MetadataMIME) || !ascii(f.DataMIME) {
		return errMalformed(TypeSetup, "MIME type is not US-ASCII")
	}
	return nil
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
