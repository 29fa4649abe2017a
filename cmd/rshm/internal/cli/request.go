package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
)

// Request implements
//
//	rshm request --rr|--fnf|--stream|--channel|--metadata-push [--data S]... [--metadata S] [--n N] [--mtu N] URL
//
// It makes one request and prints the data of every payload that comes back,
// one per line. --data may repeat: a channel sends each value as one payload,
// the other models send the first. --n is the request(n) window the requester
// keeps open on a stream or channel (0: the library's window, sized by bytes
// and bounded: rsocket.ClientConfig.Prefetch). An ERROR from the peer
// becomes the returned error (exit status 1).
func Request(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	var o RequestOptions
	rr := fs.Bool("rr", false, "request-response")
	fnf := fs.Bool("fnf", false, "fire-and-forget")
	stream := fs.Bool("stream", false, "request-stream")
	channel := fs.Bool("channel", false, "request-channel")
	push := fs.Bool("metadata-push", false, "metadata push")
	fs.Var((*strList)(&o.Data), "data", "request data; repeat to send several payloads on a channel")
	md := fs.String("metadata", "", "request metadata (absent when not given)")
	fs.IntVar(&o.N, "n", 0, "request(n) window for a stream or channel (0: the library's, sized by bytes)")
	fs.IntVar(&o.MTU, "mtu", 0, "fragment frames larger than `N` bytes (0: no fragmentation)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "metadata" {
			o.Metadata = []byte(*md)
			if o.Metadata == nil {
				o.Metadata = []byte{}
			}
		}
	})
	for _, m := range []struct {
		set   bool
		model Model
	}{{*rr, ModelRR}, {*fnf, ModelFNF}, {*stream, ModelStream}, {*channel, ModelChannel}, {*push, ModelMetadataPush}} {
		if !m.set {
			continue
		}
		if o.Model != "" {
			return usageErr("give one of --rr, --fnf, --stream, --channel, --metadata-push")
		}
		o.Model = m.model
	}
	if o.Model == "" {
		return usageErr("give one of --rr, --fnf, --stream, --channel, --metadata-push")
	}
	if len(pos) != 1 {
		return usageErr("want one URL, got %d arguments", len(pos))
	}
	if o.N < 0 {
		return usageErr("--n %d: want >= 0", o.N)
	}
	if o.Model == ModelMetadataPush && o.Metadata == nil {
		return usageErr("--metadata-push needs --metadata")
	}
	if o.Addr, o.Mode, err = rshm.ParseURL(pos[0]); err != nil {
		return usageErr("%v", err)
	}
	o.OnConnect = func(k rshm.Kind) { fmt.Fprintf(stderr, "transport: %s\n", k) }
	return Do(ctx, o, func(p rsocket.Payload) error {
		_, err := fmt.Fprintf(stdout, "%s\n", p.Data)
		return err
	})
}

// Model names an interaction model.
type Model string

// The interaction models Request can make.
const (
	ModelRR           Model = "rr"
	ModelFNF          Model = "fnf"
	ModelStream       Model = "stream"
	ModelChannel      Model = "channel"
	ModelMetadataPush Model = "metadata-push"
)

// RequestOptions is one request for Do.
type RequestOptions struct {
	Addr      string          // host:port
	Mode      rshm.Mode       // Auto (zero), SHMOnly or TCPOnly
	OnConnect func(rshm.Kind) // if set, told the transport in use
	Model     Model
	Data      []string // payload data; a channel sends one payload per entry
	Metadata  []byte   // nil: no metadata
	N         int      // request(n) window; 0: the library's bounded default
	MTU       int      // 0: no fragmentation
}

// clientConfig is the engine configuration of o: its MTU and its window,
// which at zero is the library's bounded default (a reader slower than the
// stream then queues about rsocket.DefaultPrefetchBytes, not 2^31-1
// payloads).
func (o *RequestOptions) clientConfig() rsocket.ClientConfig {
	return rsocket.ClientConfig{MTU: o.MTU, Prefetch: o.N}
}

// Do dials o.Addr, makes the request and calls out with every payload that
// comes back, in order; the payload is valid during the call. It closes the
// connection before returning.
func Do(ctx context.Context, o RequestOptions, out func(rsocket.Payload) error) error {
	rc, err := rshm.Dial(ctx, o.Addr, rshm.Config{Handshake: rshm.Handshake{Mode: o.Mode}, Client: o.clientConfig()})
	if err != nil {
		return err
	}
	if o.OnConnect != nil {
		o.OnConnect(rc.Kind())
	}
	conn := rc.Conn
	defer closeConn(conn)
	payloads := make([]rsocket.Payload, max(len(o.Data), 1))
	for i, d := range o.Data {
		payloads[i].Data = []byte(d)
	}
	payloads[0].Metadata = o.Metadata

	switch o.Model {
	case ModelRR:
		p, err := conn.RequestResponse(ctx, payloads[0])
		if err != nil {
			return err
		}
		return out(p)
	case ModelFNF:
		return conn.FireAndForget(ctx, payloads[0])
	case ModelMetadataPush:
		return conn.MetadataPush(ctx, o.Metadata)
	case ModelStream:
		s, err := conn.RequestStream(ctx, payloads[0])
		if err != nil {
			return err
		}
		defer s.Close()
		for p, err := range s.All() {
			if err != nil {
				return err
			}
			if err := out(p); err != nil {
				return err
			}
		}
		return nil
	case ModelChannel:
		return channel(ctx, conn, payloads, out)
	}
	return fmt.Errorf("model %q: %w", o.Model, ErrUsage)
}

// channel sends payloads (the first in REQUEST_CHANNEL) from a goroutine of
// its own, which ends before channel returns, while the caller's goroutine
// receives: sending blocks on the responder's credit and the responder may
// wait for ours.
func channel(ctx context.Context, conn *rsocket.Conn, payloads []rsocket.Payload, out func(rsocket.Payload) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := conn.RequestChannel(ctx, payloads[0])
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		for _, p := range payloads[1:] {
			if err := ch.Send(ctx, p); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- ch.CloseSend()
	}()
	for {
		p, err := ch.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			cancel()
			<-sendErr
			return err
		}
		if err := out(p); err != nil {
			cancel()
			<-sendErr
			return err
		}
	}
	if err := <-sendErr; err != nil && !errors.Is(err, rsocket.ErrStreamClosed) {
		return err
	}
	return nil
}

// closeTimeout bounds the graceful close at the end of a request.
const closeTimeout = 2 * time.Second

// closeConn closes conn gracefully, so that a fire-and-forget or metadata
// push, which has no answer to wait for, has left before the socket closes.
// Its error is not the request's: by now the request has succeeded or
// failed, and a peer that hangs up first is no reason to fail the command.
func closeConn(conn *rsocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	conn.CloseGracefully(ctx)
	conn.Close()
}
