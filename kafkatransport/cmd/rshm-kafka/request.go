package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rshm/rshm/kafkatransport"
	"github.com/rshm/rshm/rsocket"
)

// Defaults of request's keepalive: the engine's interval, and a lifetime
// that rides out a responder restart.
const (
	defaultKeepalive = rsocket.DefaultKeepaliveInterval
	defaultLifetime  = 5 * time.Minute
)

// model is the interaction model request makes.
type model int

const (
	modelNone model = iota
	modelRR
	modelFNF
	modelStream
	modelChannel
	modelMetadataPush
)

// modelFlag is a boolean flag that selects m.
type modelFlag struct {
	m   model
	set *[]model
}

func (f *modelFlag) IsBoolFlag() bool { return true }
func (f *modelFlag) String() string   { return "" }
func (f *modelFlag) Set(s string) error {
	if s != "true" {
		return errors.New("takes no value")
	}
	*f.set = append(*f.set, f.m)
	return nil
}

// requestConfig is request's command line.
type requestConfig struct {
	url                 kafkatransport.URL
	model               model
	data                []string
	metadata            []byte
	take                int
	timeout             time.Duration
	keepalive, lifetime time.Duration
}

func parseRequest(args []string) (*requestConfig, error) {
	fs := flag.NewFlagSet("request", flag.ContinueOnError)
	cfg := &requestConfig{}
	var models []model
	for name, m := range map[string]model{
		"rr": modelRR, "request": modelRR, "fnf": modelFNF, "stream": modelStream, "channel": modelChannel,
		"metadata-push": modelMetadataPush, "metadataPush": modelMetadataPush,
	} {
		fs.Var(&modelFlag{m: m, set: &models}, name, "interaction model")
	}
	var data listFlag
	fs.Var(&data, "data", "request data `S` (repeat for a channel's payloads)")
	md := fs.String("metadata", "", "request metadata `S`, or @FILE")
	fs.IntVar(&cfg.take, "take", 0, "stop after `N` payloads (0: all)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "give up after `D`, connecting included (0: never)")
	fs.DurationVar(&cfg.keepalive, "keepalive", defaultKeepalive, "KEEPALIVE interval `D`")
	fs.DurationVar(&cfg.lifetime, "lifetime", defaultLifetime, "how long a silent responder is tolerated `D`")
	pos, err := parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(models) != 1 {
		return nil, fmt.Errorf("%w: give one of --rr, --fnf, --stream, --channel, --metadata-push", errUsage)
	}
	cfg.model = models[0]
	if len(pos) != 1 {
		return nil, fmt.Errorf("%w: want one kafka:// URL, got %d arguments", errUsage, len(pos))
	}
	if cfg.url, err = kafkatransport.ParseURL(pos[0]); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.url.Group != "" {
		return nil, fmt.Errorf("%w: group= is a responder's parameter", errUsage)
	}
	if cfg.take < 0 || cfg.timeout < 0 || cfg.keepalive <= 0 || cfg.lifetime <= 0 {
		return nil, fmt.Errorf("%w: --take and --timeout must not be negative, --keepalive and --lifetime positive", errUsage)
	}
	cfg.data = data
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "metadata" {
			cfg.metadata = []byte{}
		}
	})
	if path, ok := strings.CutPrefix(*md, "@"); ok {
		if cfg.metadata, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	} else if cfg.metadata != nil {
		cfg.metadata = []byte(*md)
	}
	if cfg.model == modelMetadataPush && cfg.metadata == nil {
		return nil, fmt.Errorf("%w: --metadata-push needs --metadata", errUsage)
	}
	return cfg, nil
}

// request implements "rshm-kafka request".
func request(ctx context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
	cfg, err := parseRequest(args)
	if err != nil {
		return err
	}
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	t, err := kafkatransport.Dial(ctx, cfg.url.Brokers, cfg.url.Topic, kafkatransport.Config{ReplyTopic: cfg.url.Reply})
	if err != nil {
		return err
	}
	c, err := rsocket.Client(ctx, t, rsocket.ClientConfig{KeepaliveInterval: cfg.keepalive, MaxLifetime: cfg.lifetime})
	if err != nil {
		return err
	}
	defer c.Close()
	out := func(p rsocket.Payload) error {
		_, err := fmt.Fprintf(stdout, "%s\n", p.Data)
		return err
	}
	first := rsocket.Payload{Metadata: cfg.metadata}
	if len(cfg.data) > 0 {
		first.Data = []byte(cfg.data[0])
	}
	switch cfg.model {
	case modelRR:
		p, err := c.RequestResponse(ctx, first)
		if err != nil {
			return err
		}
		return out(p)
	case modelFNF:
		return c.FireAndForget(ctx, first)
	case modelMetadataPush:
		return c.MetadataPush(ctx, cfg.metadata)
	case modelStream:
		s, err := c.RequestStream(ctx, first)
		if err != nil {
			return err
		}
		defer s.Close()
		return drain(s.Recv, out, cfg.take)
	}
	ch, err := c.RequestChannel(ctx, first)
	if err != nil {
		return err
	}
	defer ch.Close()
	go func() {
		for _, d := range cfg.data[min(1, len(cfg.data)):] {
			if ch.Send(ctx, rsocket.Payload{Data: []byte(d)}) != nil {
				return
			}
		}
		_ = ch.CloseSend()
	}()
	return drain(ch.Recv, out, cfg.take)
}

// drain hands out what recv returns until the stream completes, fails, or
// take payloads (0: no limit) came.
func drain(recv func() (rsocket.Payload, error), out func(rsocket.Payload) error, take int) error {
	for n := 0; take == 0 || n < take; n++ {
		p, err := recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := out(p); err != nil {
			return err
		}
	}
	return nil
}
