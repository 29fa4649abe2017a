package rsocket

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/rshm/rshm/rsocket/internal/wire"
)

// ErrorCode is the code of an RSocket ERROR frame. Its String is the
// spec's name ("APPLICATION_ERROR"), or the code in hex ("0x301") for one
// without a name, such as an application's own (0x301 to 0xFFFFFFFE); Name
// is the spec's name or "".
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

// Error reads "rsocket: APPLICATION_ERROR (0x201): message", or
// "rsocket: 0x301: message" for a code the spec does not name. A message
// made from one of this package's errors ("rsocket: connection closed",
// sent by a peer that passed it on) loses its "rsocket: " here, as the
// text starts with it already.
func (e *Error) Error() string {
	s := "rsocket: " + e.Code.String()
	if e.Code.Name() != "" {
		s += " (0x" + strconv.FormatUint(uint64(e.Code), 16) + ")"
	}
	if msg := strings.TrimPrefix(e.Message, "rsocket: "); msg != "" {
		s += ": " + msg
	}
	return s
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

// IsPeerGone reports whether err says that the connection to the peer is
// over, so that only a new connection can carry requests: closed here
// (ErrClosed) or closing (ErrClosing); closed by the peer (its
// ERROR[CONNECTION_CLOSE]) or for a protocol error (CONNECTION_ERROR);
// the peer silent past the max lifetime (ErrKeepaliveTimeout); a
// resumable session expired (ErrSessionExpired) or its resumption refused
// (REJECTED_RESUME); or the transport ended or broke under it: an error
// matching io.EOF, io.ErrUnexpectedEOF or net.ErrClosed, a connection
// reset or aborted, or a broken pipe. A transport reports its end with one
// of those for IsPeerGone to see it.
//
// A refused SETUP is not the peer gone (the peer answered, and would
// refuse a new connection alike), nor is the failure of one request: a
// stream's *Error, ctx.Err(), ErrNoLease.
func IsPeerGone(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Code {
		case CodeConnectionClose, CodeConnectionError, CodeRejectedResume:
			return true
		}
	}
	for _, target := range peerGone {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// peerGone are the errors IsPeerGone matches with errors.Is.
var peerGone = [...]error{
	ErrClosed, ErrClosing, ErrKeepaliveTimeout, ErrSessionExpired, errPipeClosed,
	io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
	syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
}

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
