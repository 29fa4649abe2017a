package wire

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Parse, CheckStream and ValidateSetup return a *ParseError
// wrapping exactly one of them, so errors.Is(err, wire.ErrShort) works.
var (
	// ErrShort: the frame ends before a field it must contain, or a length
	// field (metadata, MIME, token) points past its end.
	ErrShort = errors.New("wire: frame too short")
	// ErrMetadataPastEnd is the ErrShort case the spec singles out: the
	// 24-bit metadata length of a SETUP, REQUEST_*, PAYLOAD or EXT frame is
	// complete and points past the frame's end, and "the entire frame MUST
	// be ignored". errors.Is(err, ErrShort) holds for it too.
	ErrMetadataPastEnd = fmt.Errorf("%w: metadata length past its end", ErrShort)
	// ErrMalformed: a field holds a value the spec forbids (a reserved bit
	// set, request n of 0, METADATA_PUSH without M, bytes after the last
	// field of REQUEST_N, CANCEL, RESUME or RESUME_OK, SETUP values
	// ValidateSetup rejects).
	ErrMalformed = errors.New("wire: malformed frame")
	// ErrUnknownType: the frame type is RESERVED or not defined by RSocket
	// 1.0. The header fields of the Frame are still set: the receiver
	// ignores the frame if FlagIgnore is set, else it is a connection error.
	ErrUnknownType = errors.New("wire: unknown frame type")
	// ErrWrongStream: the frame is on a stream its type does not allow
	// (reported by CheckStream, not by Parse).
	ErrWrongStream = errors.New("wire: frame on wrong stream")
)

// ParseError describes why a frame was refused.
type ParseError struct {
	Type   FrameType // the frame's type, when the header could be read
	Reason string    // what is wrong, in words
	Err    error     // ErrShort (or ErrMetadataPastEnd), ErrMalformed, ErrUnknownType or ErrWrongStream
}

func (e *ParseError) Error() string {
	// The sentinel's text without its own "wire: ", said once already.
	return "wire: " + e.Type.String() + ": " + e.Reason + ": " + strings.TrimPrefix(e.Err.Error(), "wire: ")
}

// Unwrap returns the sentinel.
func (e *ParseError) Unwrap() error { return e.Err }

func errShort(t FrameType, reason string) error {
	return &ParseError{Type: t, Reason: reason, Err: ErrShort}
}

func errMalformed(t FrameType, reason string) error {
	return &ParseError{Type: t, Reason: reason, Err: ErrMalformed}
}
