package metadata

import (
	"errors"
	"strconv"
)

// Sentinel errors. Decoding errors wrap ErrMalformed; encoding errors wrap
// ErrInvalid.
var (
	// ErrMalformed: the input is not a valid encoding (truncated, or a
	// length that points past the end).
	ErrMalformed = errors.New("metadata: malformed")
	// ErrInvalid: a value cannot be encoded (too long, not US-ASCII,
	// an id out of range).
	ErrInvalid = errors.New("metadata: invalid value")
)

// Error says where a malformed input or an invalid value was found. It
// wraps ErrMalformed or ErrInvalid.
type Error struct {
	// What is the extension and field, such as "composite: entry length".
	What string
	// Offset is the byte offset in the input where decoding failed, or -1
	// for an encoding error.
	Offset int
	// Err is ErrMalformed or ErrInvalid.
	Err error
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return e.Err.Error() + ": " + e.What
	}
	return e.Err.Error() + ": " + e.What + " at offset " + strconv.Itoa(e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

func malformed(what string, off int) error {
	return &Error{What: what, Offset: off, Err: ErrMalformed}
}

func invalid(what string) error {
	return &Error{What: what, Offset: -1, Err: ErrInvalid}
}

// isASCII reports whether s is US-ASCII.
func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
