package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rshm/rshm"
	"github.com/rshm/rshm/rsocket"
	"github.com/rshm/rshm/rsocket/metadata"
	"github.com/rshm/rshm/shm"
)

// RequestCommand is "rshm request".
var RequestCommand = Command{
	Name:    "request",
	Usage:   "request --rr|--fnf|--stream|--channel|--metadata-push [--data S | -i S|-|@FILE]... [--metadata S|@FILE | --route R] [--take N] [--n N] [--debug] [flags] URL",
	Summary: "make one request and print the data of what comes back, one payload a line",
	Run:     Request,
}

// Request implements "rshm request": it makes one request and prints the
// data of every payload that comes back, one per line.
//
// The request data comes from --data (literal, repeatable) and -i/--input
// (rsocket-cli's: a string, "-" for stdin, "@path" for a file), in the
// order given: a channel sends every value, a file or stdin one payload per
// line, read as the channel goes; the other models send the first value, a
// file or stdin whole. --metadata (and --setup) take a string or @path.
// --route R sends R in routing metadata, inside composite metadata unless
// the metadata MIME type is the routing one, and announces application/json
// data unless told otherwise (rsocket-cli's defaults, what Spring expects).
//
// --n is the request(n) window the requester keeps open on a stream or
// channel (0: the library's, sized by bytes and bounded:
// rsocket.ClientConfig.Prefetch); --take N stops after N payloads (and,
// below rsocket.DefaultPrefetch and without --n, makes N the window).
// --timeout bounds the request, dial included. An ERROR from the
// peer becomes the returned error (exit status 1). --debug writes one
// line per frame sent (->) and received (<-) to stderr.
//
// rsocket-cli's names are accepted too: --request (--rr), --metadataPush,
// -m (--metadata), --dataFormat and --metadataFormat (--data-mime,
// --metadata-mime).
func Request(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o, debug, err := parseRequest(args)
	if err != nil {
		return err
	}
	o.Stdin = stdin
	o.OnConnect = func(k rshm.Kind) { fmt.Fprintf(stderr, "transport: %s\n", k) }
	if debug {
		o.Debug = stderr
	}
	return Do(ctx, o, func(p rsocket.Payload) error {
		_, err := fmt.Fprintf(stdout, "%s\n", p.Data)
		return err
	})
}

// modelFlag is a boolean flag that selects an interaction model; aliases
// are more modelFlags of the same model.
type modelFlag struct {
	m   Model
	set *[]Model
}

func (f *modelFlag) IsBoolFlag() bool { return true }
func (f *modelFlag) String() string   { return "" }
func (f *modelFlag) Set(s string) error {
	if s != "true" {
		return errors.New("takes no value")
	}
	if !slices.Contains(*f.set, f.m) {
		*f.set = append(*f.set, f.m)
	}
	return nil
}

// requestFlags are the flags of rshm request that parseRequest turns into
// RequestOptions.
type requestFlags struct {
	models             []Model
	data               []Input
	md, route, setup   optString
	dataMIME, mdMIME   optString
	timeout, keepalive duration
	debug              bool
}

// parseRequest reads the command line of rshm request; debug is --debug.
func parseRequest(args []string) (o RequestOptions, debug bool, err error) {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	var f requestFlags
	for _, m := range []struct {
		names []string
		model Model
		usage string
	}{
		{[]string{"rr", "request"}, ModelRR, "request-response"},
		{[]string{"fnf"}, ModelFNF, "fire-and-forget"},
		{[]string{"stream"}, ModelStream, "request-stream"},
		{[]string{"channel"}, ModelChannel, "request-channel"},
		{[]string{"metadata-push", "metadataPush"}, ModelMetadataPush, "metadata push"},
	} {
		for i, name := range m.names {
			usage := m.usage
			if i > 0 {
				usage = "same as --" + m.names[0]
			}
			fs.Var(&modelFlag{m: m.model, set: &f.models}, name, usage)
		}
	}
	fs.Var(&inputFlag{list: &f.data, raw: true}, "data", "request data `S`, literal; repeat to send several payloads on a channel")
	fs.Var(&inputFlag{list: &f.data}, "input", "request data `S`: a string, - for stdin, @path for a file (a channel sends one payload per line)")
	fs.Var(&inputFlag{list: &f.data}, "i", "same as --input `S`")
	fs.Var(&f.md, "metadata", "request metadata `S`: a string or @path (absent when not given)")
	fs.Var(&f.md, "m", "same as --metadata `S`")
	fs.Var(&f.route, "route", "send `R` as the route (routing metadata, in composite metadata)")
	fs.Var(&f.setup, "setup", "SETUP payload data `S`: a string or @path")
	fs.Var(&f.dataMIME, "data-mime", "data MIME type announced in SETUP: json, cbor, text, binary or a `MIME` type (default application/binary; application/json with --route)")
	fs.Var(&f.dataMIME, "dataFormat", "same as --data-mime `MIME` (rsocket-cli's name)")
	fs.Var(&f.mdMIME, "metadata-mime", "metadata MIME type announced in SETUP: composite, routing, json, ... or a `MIME` type (default application/binary; composite with --route)")
	fs.Var(&f.mdMIME, "metadataFormat", "same as --metadata-mime `MIME` (rsocket-cli's name)")
	fs.IntVar(&o.N, "n", 0, "request(n) window `N` of a stream or channel (0: the library's, sized by bytes)")
	fs.IntVar(&o.Take, "take", 0, "stop after `N` payloads (0: all)")
	fs.IntVar(&o.MTU, "mtu", 0, "fragment frames larger than `N` bytes (0: no fragmentation)")
	fs.Var(&f.timeout, "timeout", "give up after `D` (500ms, 5s; a bare number is seconds; 0: never)")
	fs.Var(&f.keepalive, "keepalive", "KEEPALIVE interval `D`; the max lifetime is 3x (0: the library's 20s and 90s)")
	fs.BoolVar(&o.Resume, "resume", false, "make the session resumable (the server must allow resumption)")
	fs.BoolVar(&f.debug, "debug", false, "print every frame sent (->) and received (<-) to stderr")
	shmFlags(fs, &o.SHM)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return o, false, err
	}
	o.Data = f.data
	o.Timeout, o.Keepalive = time.Duration(f.timeout), time.Duration(f.keepalive)
	if err := f.resolve(&o); err != nil {
		return o, false, err
	}
	if len(pos) != 1 {
		return o, false, usageErr("want one URL, got %d arguments", len(pos))
	}
	if isWebSocket(pos[0]) {
		o.Addr = pos[0] // rshm.Dial reads the whole URL
	} else if o.Addr, o.Mode, err = rshm.ParseURL(pos[0]); err != nil {
		return o, false, usageErr("%v", err)
	}
	return o, f.debug, nil
}

// resolve checks f and sets the model, metadata, MIME types and setup
// payload of o.
func (f *requestFlags) resolve(o *RequestOptions) error {
	if len(f.models) != 1 {
		return usageErr("give one of --rr, --fnf, --stream, --channel, --metadata-push")
	}
	o.Model = f.models[0]
	if o.N < 0 {
		return usageErr("--n %d: want >= 0", o.N)
	}
	if o.Take < 0 {
		return usageErr("--take %d: want >= 0", o.Take)
	}
	if o.Take > 0 && o.N == 0 && o.Take < rsocket.DefaultPrefetch {
		o.N = o.Take // ask for no more than will be printed
	}
	var err error
	if o.DataMIME, err = mimeType("--data-mime", f.dataMIME.s); err != nil {
		return err
	}
	if o.MetadataMIME, err = mimeType("--metadata-mime", f.mdMIME.s); err != nil {
		return err
	}
	if f.md.set {
		if f.route.set {
			return usageErr("give --route or --metadata, not both")
		}
		if o.Metadata, err = literal(f.md.s); err != nil {
			return fmt.Errorf("--metadata: %w", err)
		}
		if o.Metadata == nil {
			o.Metadata = []byte{}
		}
	}
	if f.route.set {
		if o.Metadata, o.MetadataMIME, err = routeMetadata(f.route.s, o.MetadataMIME); err != nil {
			return err
		}
		if o.DataMIME == "" {
			o.DataMIME = "application/json"
		}
	}
	if o.Model == ModelMetadataPush && o.Metadata == nil {
		return usageErr("--metadata-push needs --metadata or --route")
	}
	if f.setup.set {
		if o.Setup, err = literal(f.setup.s); err != nil {
			return fmt.Errorf("--setup: %w", err)
		}
		if o.Setup == nil {
			o.Setup = []byte{}
		}
	}
	return nil
}

// mimeFormats are rsocket-cli's short names of MIME types (its
// --dataFormat and --metadataFormat values), and routing.
var mimeFormats = map[string]string{
	"json":      "application/json",
	"cbor":      "application/cbor",
	"binary":    "application/binary",
	"text":      "text/plain",
	"composite": metadata.MIMEComposite,
	"routing":   metadata.MIMERouting,
}

// mimeType resolves a --data-mime or --metadata-mime value: a short name
// or a MIME type that SETUP can carry (US-ASCII, at most 255 bytes).
func mimeType(flagName, s string) (string, error) {
	if m, ok := mimeFormats[s]; ok {
		return m, nil
	}
	if len(s) > 255 {
		return "", usageErr("%s: longer than 255 bytes", flagName)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", usageErr("%s %q: want printable US-ASCII", flagName, s)
		}
	}
	return s, nil
}

// routeMetadata encodes route as the metadata MIME type mdMIME asks:
// composite metadata with a routing entry (mdMIME empty or composite), or
// bare routing metadata.
func routeMetadata(route, mdMIME string) (md []byte, mime string, err error) {
	tags, err := metadata.AppendRoute(nil, route)
	if err != nil {
		return nil, "", usageErr("--route: %v", err)
	}
	switch mdMIME {
	case "", metadata.MIMEComposite:
		md, err = metadata.AppendCompositeID(nil, metadata.MessageRouting, tags)
		return md, metadata.MIMEComposite, err
	case metadata.MIMERouting:
		return tags, mdMIME, nil
	}
	return nil, "", usageErr("--route needs composite or routing metadata, not --metadata-mime %s", mdMIME)
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
	SHM       shm.Config      // where regions live and who shares them
	OnConnect func(rshm.Kind) // if set, told the transport in use
	Model     Model
	// Data is the request data: a channel sends every entry (a file or
	// stdin line by line), the other models the first. None sends one
	// empty payload.
	Data  []Input
	Stdin io.Reader // what an Input with Path "-" reads
	// Metadata is the metadata of the first payload; nil: none.
	Metadata []byte
	N        int // request(n) window; 0: the library's bounded default
	Take     int // payloads to receive before cancelling; 0: all
	MTU      int // 0: no fragmentation
	// Timeout bounds Do, dial included; 0: no bound beyond ctx.
	Timeout time.Duration
	// Keepalive is the KEEPALIVE interval, with a max lifetime of 3x; 0:
	// the library's defaults.
	Keepalive time.Duration
	// DataMIME and MetadataMIME are announced in SETUP; empty: the
	// library's default (rsocket.DefaultMIME).
	DataMIME, MetadataMIME string
	Setup                  []byte // SETUP payload data; nil: none
	Resume                 bool   // a resumable session (rsocket.ResumeConfig)
	// Debug, if set, receives one line per frame sent and received.
	Debug io.Writer
}

// clientConfig is the engine configuration of o: its MTU and its window,
// which at zero is the library's bounded default (a reader slower than the
// stream then queues about rsocket.DefaultPrefetchBytes, not 2^31-1
// payloads), its SETUP fields and resumption.
func (o *RequestOptions) clientConfig() rsocket.ClientConfig {
	c := rsocket.ClientConfig{
		MTU: o.MTU, Prefetch: o.N,
		DataMIME: o.DataMIME, MetadataMIME: o.MetadataMIME,
		KeepaliveInterval: o.Keepalive, MaxLifetime: 3 * o.Keepalive,
	}
	if o.Setup != nil {
		c.SetupPayload.Data = o.Setup
	}
	if o.Resume {
		c.Resume = &rsocket.ResumeConfig{}
	}
	return c
}

// errTaken ends a request that received its Take payloads.
var errTaken = errors.New("cli: took enough payloads")

// Do dials o.Addr, makes the request and calls out with every payload that
// comes back, in order, up to o.Take; the payload is valid during the
// call. It closes the connection before returning.
func Do(ctx context.Context, o RequestOptions, out func(rsocket.Payload) error) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	if o.Take > 0 {
		n, print := 0, out
		out = func(p rsocket.Payload) error {
			if err := print(p); err != nil {
				return err
			}
			if n++; n == o.Take {
				return errTaken
			}
			return nil
		}
	}
	err := do(ctx, &o, out)
	switch {
	case errors.Is(err, errTaken):
		return nil
	case o.Timeout > 0 && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return fmt.Errorf("no answer within --timeout %v: %w", o.Timeout, err)
	}
	return err
}

func do(ctx context.Context, o *RequestOptions, out func(rsocket.Payload) error) error {
	conn, err := dial(ctx, o)
	if err != nil {
		return err
	}
	defer closeConn(conn)
	var first rsocket.Payload
	if len(o.Data) > 0 && o.Model != ModelChannel {
		if first.Data, err = o.Data[0].whole(o.Stdin); err != nil {
			return err
		}
	}
	first.Metadata = o.Metadata

	switch o.Model {
	case ModelRR:
		p, err := conn.RequestResponse(ctx, first)
		if err != nil {
			return err
		}
		return out(p)
	case ModelFNF:
		return conn.FireAndForget(ctx, first)
	case ModelMetadataPush:
		return conn.MetadataPush(ctx, o.Metadata)
	case ModelStream:
		s, err := conn.RequestStream(ctx, first)
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
		return channel(ctx, conn, o, out)
	}
	return fmt.Errorf("model %q: %w", o.Model, ErrUsage)
}

// dial connects as o says, with rshm.Dial; under --debug the frame dump
// wraps every transport the session runs on (rshm.Config.WrapTransport, a
// resumed one too).
func dial(ctx context.Context, o *RequestOptions) (*rsocket.Conn, error) {
	cfg := rshm.Config{Handshake: rshm.Handshake{Mode: o.Mode, SHM: o.SHM}, Client: o.clientConfig()}
	if o.Debug != nil {
		d := newFrameDump(o.Debug)
		cfg.WrapTransport = func(t rsocket.Transport, _ rshm.Kind) rsocket.Transport { return d.wrap(t) }
	}
	c, err := rshm.Dial(ctx, o.Addr, cfg)
	if err != nil {
		return nil, err
	}
	if o.OnConnect != nil {
		o.OnConnect(c.Kind())
	}
	return c.Conn, nil
}

// isWebSocket reports whether s is a ws:// or wss:// URL.
func isWebSocket(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && (strings.EqualFold(scheme, "ws") || strings.EqualFold(scheme, "wss"))
}

// channel makes a request-channel. A goroutine reads the request data
// (lines), another sends it, each ending before channel returns, except a
// reader blocked on stdin, which ends at its next line or EOF; the
// caller's goroutine receives: sending blocks on the responder's credit
// and the responder may wait for ours.
func channel(ctx context.Context, conn *rsocket.Conn, o *RequestOptions, out func(rsocket.Payload) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	data := make(chan []byte)
	var readErr error // lines' result, set before data is closed
	go func() {
		readErr = lines(ctx, o.Data, o.Stdin, data)
		close(data)
	}()
	first := rsocket.Payload{Metadata: o.Metadata}
	select {
	case d, ok := <-data:
		if ok {
			first.Data = d
		} else if readErr != nil {
			return readErr
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	ch, err := conn.RequestChannel(ctx, first)
	if err != nil {
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- send(ctx, ch, data, &readErr)
	}()
	for {
		p, err := ch.Recv()
		if err == io.EOF {
			break
		}
		if err == nil {
			err = out(p)
		}
		if err != nil {
			cancel()
			if serr := <-sendErr; errors.Is(err, context.Canceled) && failed(serr) {
				return serr // the data could not be read: the sender cancelled
			}
			return err
		}
	}
	// The responder has completed: what is left to send is not wanted (and
	// the sender may be waiting for a line of stdin).
	cancel()
	if err := <-sendErr; failed(err) {
		return err
	}
	return nil
}

// failed reports whether err, from a channel's sender, is a failure of
// its own rather than the end of the channel.
func failed(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, rsocket.ErrStreamClosed)
}

// send sends the payloads of data on ch and completes its half; when the
// data could not be read (*readErr, once data is closed), it cancels the
// channel and returns that error.
func send(ctx context.Context, ch *rsocket.Channel, data <-chan []byte, readErr *error) error {
	for {
		var d []byte
		var ok bool
		select {
		case d, ok = <-data:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !ok {
			break
		}
		if err := ch.Send(ctx, rsocket.Payload{Data: d}); err != nil {
			return err
		}
	}
	if err := *readErr; err != nil {
		ch.Close()
		return err
	}
	return ch.CloseSend()
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
