package metadata

import "strconv"

// Authentication metadata (Security/Authentication.md):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|A| Auth ID/Len |   Authentication Type (if A clear)          ...
//	+---------------+---------------+---------------+---------------+
//	|                     Authentication Payload                   ...
//	+---------------+-----------------------------------------------+
//
// A set: the 7 bits are a well-known AuthType. A clear: a US-ASCII type
// name follows, its length written minus one (1..128), as rsocket-java and
// rsocket-js do. The simple type's payload is
//
//	+-------------------------------+-------------------------------+
//	|  Username Length (u16)        |  Username (UTF-8)            ...
//	+-------------------------------+-------------------------------+
//	|  Password (UTF-8, the rest)                                  ...
//	+---------------------------------------------------------------+
//
// and the bearer type's payload is the token.

// AuthType is a well-known authentication type id (WellKnownAuthTypes.md).
type AuthType uint8

// Well-known authentication types.
const (
	AuthSimple AuthType = 0x00
	AuthBearer AuthType = 0x01

	// MaxAuthType is the largest id: ids have 7 bits.
	MaxAuthType AuthType = 0x7F
)

var authNames = [...]string{AuthSimple: "simple", AuthBearer: "bearer"}

// String returns "simple", "bearer", or "AuthType(0xNN)" for a reserved id.
func (t AuthType) String() string {
	if int(t) < len(authNames) {
		return authNames[t]
	}
	return "AuthType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

const (
	authKnown    = 0x80 // A: well-known type
	authIDMask   = 0x7F
	simpleLenLen = 2 // Username Length
	// MaxUsername is the longest simple-auth username: 16 bits of length.
	MaxUsername = 1<<16 - 1
)

// Auth is decoded authentication metadata. Name and Payload are views into
// the decoded input.
type Auth struct {
	// Type is the well-known type when WellKnown is set (possibly a
	// reserved id).
	Type AuthType
	// WellKnown: the type is named by Type; otherwise by Name.
	WellKnown bool
	// Name is a custom type's name; nil when WellKnown.
	Name []byte
	// Payload is the authentication payload.
	Payload []byte
}

// Simple decodes the payload of simple authentication. It is an error
// when a is of another type.
func (a Auth) Simple() (username, password []byte, err error) {
	if !a.WellKnown || a.Type != AuthSimple {
		return nil, nil, malformed("auth: not simple authentication", 0)
	}
	return ParseSimple(a.Payload)
}

// Bearer returns the token of bearer authentication; ok is false when a is
// of another type.
func (a Auth) Bearer() (token []byte, ok bool) {
	if !a.WellKnown || a.Type != AuthBearer {
		return nil, false
	}
	return a.Payload, true
}

// AppendAuthSimple appends simple authentication metadata. A username
// longer than MaxUsername bytes is an error.
func AppendAuthSimple(b []byte, username, password string) ([]byte, error) {
	if len(username) > MaxUsername {
		return b, invalid("auth: username longer than 65535 bytes")
	}
	n := len(username)
	b = append(b, authKnown|byte(AuthSimple), byte(n>>8), byte(n))
	b = append(b, username...)
	return append(b, password...), nil
}

// AppendAuthBearer appends bearer authentication metadata.
func AppendAuthBearer(b []byte, token string) []byte {
	b = append(b, authKnown|byte(AuthBearer))
	return append(b, token...)
}

// AppendAuthWellKnown appends authentication metadata of a well-known type
// id (reserved ids are allowed) with its payload.
func AppendAuthWellKnown(b []byte, t AuthType, payload []byte) ([]byte, error) {
	if t > MaxAuthType {
		return b, invalid("auth: type id above 0x7f")
	}
	b = append(b, authKnown|byte(t))
	return append(b, payload...), nil
}

// AppendAuthCustom appends authentication metadata of a custom type name
// (US-ASCII, 1..128 bytes) with its payload.
func AppendAuthCustom(b []byte, authType string, payload []byte) ([]byte, error) {
	if len(authType) < 1 || len(authType) > MaxCustomMIME {
		return b, invalid("auth: custom type must be 1..128 bytes")
	}
	if !isASCII(authType) {
		return b, invalid("auth: custom type must be US-ASCII")
	}
	b = append(b, byte(len(authType)-1))
	b = append(b, authType...)
	return append(b, payload...), nil
}

// ParseAuth decodes authentication metadata (the content of a
// MessageAuthentication entry).
func ParseAuth(content []byte) (Auth, error) {
	if len(content) == 0 {
		return Auth{}, malformed("auth: empty", 0)
	}
	c := content[0]
	if c&authKnown != 0 {
		return Auth{Type: AuthType(c & authIDMask), WellKnown: true, Payload: content[1:]}, nil
	}
	n := int(c&authIDMask) + 1
	if n > len(content)-1 {
		return Auth{}, malformed("auth: custom type past end", 0)
	}
	return Auth{Name: content[1 : 1+n : 1+n], Payload: content[1+n:]}, nil
}

// ParseSimple decodes the payload of simple authentication.
func ParseSimple(payload []byte) (username, password []byte, err error) {
	if len(payload) < simpleLenLen {
		return nil, nil, malformed("auth: truncated username length", 0)
	}
	n := int(payload[0])<<8 | int(payload[1])
	if n > len(payload)-simpleLenLen {
		return nil, nil, malformed("auth: username past end", 0)
	}
	u := payload[simpleLenLen : simpleLenLen+n : simpleLenLen+n]
	return u, payload[simpleLenLen+n:], nil
}
