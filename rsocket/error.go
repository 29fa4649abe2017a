package rsocket

import (
	"errors"
	"strconv"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// ErrorCode is the code of an RSocket ERROR frame.
type ErrorCode = wire.ErrorCode

// Error codes of the ERROR frame. The setup-class codes and
// CodeConnectionError / CodeConnectionClose apply to the whole connection
// (stream 0); the others to one stream.
const (
	CodeInvalidSetup     = wire.ErrInvalidSetup
	CodeUnsupportedSetup = wire.ErrUnsupportedSetup
	CodeRejectedSetup    = wire.ErrRejectedSetup
	CodeRejectedResume   = wire.ErrRejectedResume
	CodeConnectionError  = wire.ErrConnectionError
	CodeConnectionClose  = wire.ErrConnectionClose
	CodeApplicationError = wire.ErrApplicationError
	CodeRejected         = wire.ErrRejected
	CodeCanceled         = wire.ErrCanceled
	CodeInvalid          = wire.ErrInvalid
)

// Error mirrors an ERROR frame: one the peer sent, or one this side sends.
// A handler that returns an *Error has its Code sent; any other error is
// sent as APPLICATION_ERROR with err.Error() as the message.
type Error struct {
	Code    ErrorCode
	Message string
}

func (e *Error) Error() string {
	return "rsocket: " + e.Code.String() + " (0x" + strconv.FormatUint(uint64(e.Code), 16) + "): " + e.Message
}

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Connection-level sentinel errors.
var (
	// ErrClosed: the connection was closed locally.
	ErrClosed = errors.New("rsocket: connection closed")
	// ErrClosing: a graceful close is under way; no new requests.
	ErrClosing = errors.New("rsocket: connection closing")
	// ErrKeepaliveTimeout: the peer was silent for longer than the max
	// lifetime. It implements Timeout() via *timeoutError.
	ErrKeepaliveTimeout error = &timeoutError{"rsocket: keepalive timeout: peer silent past max lifetime"}
	// ErrStreamClosed: Send after CloseSend, or after the peer cancelled
	// this side's outbound half.
	ErrStreamClosed = errors.New("rsocket: stream closed for sending")
	// ErrMessageTooLarge: a reassembled message would exceed MaxMessageSize.
	ErrMessageTooLarge = errors.New("rsocket: message exceeds MaxMessageSize")
	// ErrReassemblyLimit: a fragment would take the partial messages of
	// the connection past MaxReassemblyBytes; its stream failed.
	ErrReassemblyLimit = errors.New("rsocket: partial messages exceed the connection's MaxReassemblyBytes")
	// ErrSetupTimeout: the client sent no SETUP or RESUME within
	// ServerConfig.SetupTimeout. It implements Timeout().
	ErrSetupTimeout error = &timeoutError{"rsocket: no SETUP within the setup timeout"}
	// ErrIdleTimeout: the connection had no stream and no request for
	// ServerConfig.IdleTimeout. It implements Timeout().
	ErrIdleTimeout error = &timeoutError{"rsocket: connection idle past the idle timeout"}
)

type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }
func (e *timeoutError) Timeout() bool { return true }

// toError converts a handler's error into the code and message sent.
func toError(err error) (ErrorCode, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	return CodeApplicationError, err.Error()
}
