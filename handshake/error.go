package handshake

import (
	"errors"
	"strconv"
	"strings"

	"github.com/rshm/rshm/shmtransport"
)

// Sentinel errors. Errors from this package wrap one of them (or an error
// of the layer below), usually inside an *Error; test with errors.Is.
var (
	// ErrNotRSHM: the peer answered the hello with something that is not
	// an rshm message (a plain RSocket server, another protocol) or closed
	// the connection. In Auto mode Dial then redials plain TCP.
	ErrNotRSHM = errors.New("handshake: peer does not speak rshm")
	// ErrNotRSocket: the peer speaks another protocol that it names in
	// its answer (HTTP): neither rshm nor a plain RSocket-over-TCP
	// connection will work, so Dial fails instead of redialing.
	ErrNotRSocket = errors.New("handshake: peer is not an RSocket server")
	// ErrRefused: the peer declined shared memory for the reason given in
	// the error text; the connection falls back to TCP unless shared
	// memory was required.
	ErrRefused = errors.New("handshake: peer refused shared memory")
	// ErrMismatch: a co-location check failed on this side (other kernel,
	// other shm directory, other user, other page size).
	ErrMismatch = errors.New("handshake: peer is not co-located")
	// ErrMalformed: a handshake message breaks the format.
	ErrMalformed = errors.New("handshake: malformed message")
	// ErrPeerGone: the liveness socket of a shared-memory connection
	// reported EOF or an error: the peer process is gone. The same error
	// as shmtransport.ErrPeerGone.
	ErrPeerGone = shmtransport.ErrPeerGone
	// ErrClosed: the transport or listener was closed locally. The same
	// error as shmtransport.ErrClosed.
	ErrClosed = shmtransport.ErrClosed
)

// Step names the step of the handshake that failed.
type Step uint8

// The steps, in protocol order.
const (
	StepDial      Step = iota // connecting the TCP socket
	StepSniff                 // server: reading the first bytes
	StepHello                 // client hello, sent and checked
	StepReply                 // server reply, sent and checked
	StepCreate                // server: creating the region
	StepOpen                  // client: mapping the region and writing the nonce
	StepProof                 // client proof, sent and checked
	StepFinal                 // server final, sent and checked
	StepTransport             // building the transport over the rings
)

var stepNames = [...]string{
	StepDial:      "dial",
	StepSniff:     "sniff",
	StepHello:     "hello",
	StepReply:     "reply",
	StepCreate:    "create region",
	StepOpen:      "open region",
	StepProof:     "proof",
	StepFinal:     "final",
	StepTransport: "transport",
}

func (s Step) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "step(" + strconv.Itoa(int(s)) + ")"
}

// Error reports the step at which a shared-memory handshake failed and why.
type Error struct {
	Step Step
	Err  error
}

// Error reads "handshake: STEP: cause", with the package's prefix said
// once: the causes are this package's errors and the peer's texts, which
// carry it too.
func (e *Error) Error() string {
	return "handshake: " + e.Step.String() + ": " + strings.ReplaceAll(e.Err.Error(), "handshake: ", "")
}

func (e *Error) Unwrap() error { return e.Err }

// Timeout reports whether the step failed because the handshake ran past
// its deadline.
func (e *Error) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// Reason is the code a side gives when it declines shared memory. It
// travels in the reply, proof and final messages.
type Reason uint8

// Reasons. A receiver that does not know a code treats it as ReasonOther.
const (
	ReasonNone     Reason = iota // accepted
	ReasonVersion                // protocol version not supported
	ReasonDisabled               // this side is configured for TCP only
	ReasonHost                   // boot ids differ: not the same kernel
	ReasonDir                    // the shm directories are not the same directory
	ReasonUser                   // the peer runs as another user
	ReasonPageSize               // page sizes differ
	ReasonPeer                   // the peer's socket was not found (not loopback)
	ReasonCreate                 // the server could not create the region
	ReasonOpen                   // the client could not map the region
	ReasonProof                  // the nonce in the region is wrong
	ReasonOther                  // anything else; see the text
)

var reasonNames = [...]string{
	ReasonNone:     "none",
	ReasonVersion:  "unsupported version",
	ReasonDisabled: "shared memory disabled",
	ReasonHost:     "different host",
	ReasonDir:      "different shm directory",
	ReasonUser:     "different user",
	ReasonPageSize: "different page size",
	ReasonPeer:     "peer socket not found",
	ReasonCreate:   "region creation failed",
	ReasonOpen:     "region open failed",
	ReasonProof:    "proof failed",
	ReasonOther:    "other",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// refusal is a reason with its text, as one side sends it and the other
// receives it.
type refusal struct {
	reason Reason
	text   string
}

func (r *refusal) Error() string {
	if r.text == "" {
		return r.reason.String()
	}
	return r.reason.String() + ": " + r.text
}

// refuse builds the error for a failed local check.
func refuse(reason Reason, err error) error {
	return &localRefusal{refusal{reason, err.Error()}, err}
}

// localRefusal is a check that failed on this side: it carries the reason
// to send and unwraps to the cause (ErrMismatch, an os error...).
type localRefusal struct {
	refusal
	cause error
}

func (r *localRefusal) Unwrap() error { return r.cause }

// peerRefusal is the reason the peer sent; it unwraps to ErrRefused.
type peerRefusal struct{ refusal }

func (r *peerRefusal) Error() string { return ErrRefused.Error() + ": " + r.refusal.Error() }
func (r *peerRefusal) Unwrap() error { return ErrRefused }

// reasonOf returns the reason code and text to send for err.
func reasonOf(err error) (Reason, string) {
	var lr *localRefusal
	if errors.As(err, &lr) {
		return lr.reason, lr.text
	}
	return ReasonOther, err.Error()
}
