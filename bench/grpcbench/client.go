package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rshm/rshm/internal/benchkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// errShort reports a message of the wrong size.
var errShort = errors.New("rshm-grpc: wrong message size")

// readyTimeout bounds the first call of a measurement, which connects.
const readyTimeout = 10 * time.Second

// dial opens the one ClientConn a measurement's goroutines share.
func dial(target string) (*grpc.ClientConn, error) {
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(maxMsg)))
}

// measureCase measures c against the server at target (a gRPC dial
// target) with benchkit.Measure: a connection, one Echo to make sure it
// is up, then c.Concurrency goroutines of the case's model on it.
func measureCase(ctx context.Context, suite string, c benchkit.Case, target string, warm, dur time.Duration,
	serverCPU func() (user, sys int64, err error)) benchkit.Row {
	fail := func(err error) benchkit.Row {
		return benchkit.Row{Suite: suite, Transport: c.Transport.String(), Model: c.Model.String(),
			Size: c.Size, Concurrency: c.Concurrency, Err: err.Error()}
	}
	if target == "" {
		return fail(fmt.Errorf("rshm-grpc: the server does not serve %v", c.Transport))
	}
	cc, err := dial(target)
	if err != nil {
		return fail(err)
	}
	defer cc.Close()
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	req, resp := []byte("ready"), []byte(nil)
	err = cc.Invoke(rctx, echoMethod, &req, &resp, grpc.WaitForReady(true))
	cancel()
	if err != nil {
		return fail(fmt.Errorf("rshm-grpc: connecting to %s: %w", target, err))
	}
	var work func(context.Context, *benchkit.Worker)
	switch c.Model {
	case benchkit.RR:
		work = func(ctx context.Context, w *benchkit.Worker) { unary(ctx, cc, c.Size, w) }
	case benchkit.Stream:
		work = func(ctx context.Context, w *benchkit.Worker) { stream(ctx, cc, c.Size, w) }
	default:
		return fail(fmt.Errorf("rshm-grpc: %v is not measured over gRPC", c.Model))
	}
	return benchkit.Measure(ctx, suite, c, warm, dur, work, serverCPU)
}

// unary calls Echo with size bytes until the window ends, timing each
// round trip.
func unary(ctx context.Context, cc *grpc.ClientConn, size int, w *benchkit.Worker) {
	req := make([]byte, size)
	var resp []byte
	for !w.Stopping() {
		t0 := w.Begin()
		if err := cc.Invoke(ctx, echoMethod, &req, &resp); err != nil {
			w.Fail(err)
			return
		}
		if len(resp) != size {
			w.Fail(fmt.Errorf("%w: echo of %d bytes, want %d", errShort, len(resp), size))
			return
		}
		w.End(t0)
	}
}

// stream opens one Stream of size-byte payloads and receives until the
// window ends, recording each payload's one-way delay.
func stream(ctx context.Context, cc *grpc.ClientConn, size int, w *benchkit.Worker) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the server's side of the stream
	s, err := cc.NewStream(ctx, &serviceDesc.Streams[0], streamMethod)
	if err != nil {
		w.Fail(err)
		return
	}
	req := benchkit.StreamRequest(size)
	if err := s.SendMsg(&req); err != nil {
		w.Fail(err)
		return
	}
	if err := s.CloseSend(); err != nil {
		w.Fail(err)
		return
	}
	var msg []byte
	for !w.Stopping() {
		if err := s.RecvMsg(&msg); err != nil {
			w.Fail(err)
			return
		}
		if len(msg) != size {
			w.Fail(fmt.Errorf("%w: stream message of %d bytes, want %d", errShort, len(msg), size))
			return
		}
		w.Received(msg)
	}
}
