package rsocket

import (
	"context"
	"strconv"
)

// Handler answers the requests a peer makes. Each blocking method runs in a
// goroutine of its own, owned by the connection, which ends when the method
// returns; ctx is cancelled when the requester cancels, the stream fails or
// the connection closes. The Payload arguments are views valid until the
// method returns, which may be returned or sent as they are (see "Payload
// ownership" in the package documentation).
//
// A returned error is sent as ERROR: an *Error keeps its code, anything else
// becomes APPLICATION_ERROR with err.Error() as the message. Embed
// RejectAll to implement only some methods.
//
// A panic in a method (or in an inline handler's call) fails that request
// only: the connection recovers it, logs the value and the stack to its
// Logger at Error level, and answers the request with
// ERROR[APPLICATION_ERROR] "handler panicked" (a fire-and-forget or
// metadata push has nothing to answer). A panic in a goroutine the method
// started is not recovered. A Loan of the stream (or of an inline
// responder) that is out at the panic is given back by the recovery: it
// holds the transport's claim, which every other sender waits for.
type Handler interface {
	// RequestResponse answers with exactly one payload or an error.
	RequestResponse(ctx context.Context, p Payload) (Payload, error)
	// FireAndForget receives a message; nothing is sent back.
	FireAndForget(ctx context.Context, p Payload)
	// RequestStream sends any number of payloads with w.Send; returning nil
	// completes the stream.
	RequestStream(ctx context.Context, p Payload, w *StreamWriter) error
	// RequestChannel receives the requester's first payload p, then reads
	// the rest with ch.Recv and sends with ch.Send; returning nil completes
	// this side's outbound half (and cancels the inbound one if still open).
	RequestChannel(ctx context.Context, p Payload, ch *Channel) error
	// MetadataPush receives connection-level metadata.
	MetadataPush(ctx context.Context, metadata []byte)
}

// RejectAll is a Handler that answers every request with ERROR[REJECTED] and
// ignores fire-and-forget and metadata push. Embed it in a handler to
// implement only some interaction models.
type RejectAll struct{}

var errUnimplemented = &Error{Code: CodeRejected, Message: "not implemented"}

func (RejectAll) RequestResponse(context.Context, Payload) (Payload, error) {
	return Payload{}, errUnimplemented
}
func (RejectAll) FireAndForget(context.Context, Payload) {}
func (RejectAll) RequestStream(context.Context, Payload, *StreamWriter) error {
	return errUnimplemented
}
func (RejectAll) RequestChannel(context.Context, Payload, *Channel) error {
	return errUnimplemented
}
func (RejectAll) MetadataPush(context.Context, []byte) {}

// InlineResponder is an optional interface of a Handler for request-response
// without a goroutine or allocation per request: the connection calls
// RequestResponseInline on its receive goroutine with a view of the request,
// and the method must answer, now or later from any goroutine, through r
// exactly once. It must not block: no other frame of the connection is
// processed while it runs.
type InlineResponder interface {
	RequestResponseInline(p Payload, r Responder)
}

// InlineFireAndForget is an optional interface of a Handler for
// fire-and-forget without a goroutine or allocation per request: the
// connection calls FireAndForgetInline on its receive goroutine with a view
// of the request, valid until it returns (Clone to keep it). It must not
// block: no other frame of the connection is processed while it runs.
type InlineFireAndForget interface {
	FireAndForgetInline(p Payload)
}

// Responder answers one inline request-response. It is a small value; copy
// it freely, but use it once.
type Responder struct {
	c  *Conn
	id uint32
}

// Respond sends p as the response. It returns an error when the connection
// is gone; a response to a cancelled request is dropped.
func (r Responder) Respond(p Payload) error {
	if !r.c.endResponder(r.id) {
		return nil
	}
	return r.c.sendPayload(r.c.ctx, r.id, payloadFlagsComplete(true), p)
}

// Fail answers with an ERROR frame built from err as a handler's error is.
func (r Responder) Fail(err error) error {
	if !r.c.endResponder(r.id) {
		return nil
	}
	code, msg := toError(err)
	return r.c.sendError(r.c.ctx, r.id, code, msg)
}

// ResponseHandler receives the outcome of RequestResponseAsync on the
// connection's receive goroutine. p is a view valid only during the call;
// err is non-nil (an *Error, or a connection error) when there is no
// response. It must not block.
type ResponseHandler interface {
	OnResponse(p Payload, err error)
}

// Model is an RSocket interaction model.
type Model uint8

// The interaction models.
const (
	ModelRequestResponse Model = iota + 1
	ModelFireAndForget
	ModelRequestStream
	ModelRequestChannel
	ModelMetadataPush
)

var modelNames = [...]string{
	ModelRequestResponse: "request-response",
	ModelFireAndForget:   "fire-and-forget",
	ModelRequestStream:   "request-stream",
	ModelRequestChannel:  "request-channel",
	ModelMetadataPush:    "metadata-push",
}

// String returns the model's name ("request-stream").
func (m Model) String() string {
	if int(m) < len(modelNames) && modelNames[m] != "" {
		return modelNames[m]
	}
	return "Model(" + strconv.Itoa(int(m)) + ")"
}

// Requester is the requesting side of a connection: the requests one side
// makes of the other. *Conn implements it, and so do the clients built on
// connections (rshm.Client, which redials; balance.Client, which spreads
// requests over many): code written against it does not change when one
// connection becomes a reconnecting one or many.
type Requester interface {
	RequestResponse(ctx context.Context, p Payload) (Payload, error)
	FireAndForget(ctx context.Context, p Payload) error
	RequestStream(ctx context.Context, p Payload) (*Stream, error)
	RequestChannel(ctx context.Context, p Payload) (*Channel, error)
	MetadataPush(ctx context.Context, md []byte) error
}

var _ Requester = (*Conn)(nil)
