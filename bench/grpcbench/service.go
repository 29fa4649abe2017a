package main

import (
	"context"

	"github.com/rshm/rshm/internal/benchkit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The service's full method names.
const (
	serviceName  = "rshm.bench.Bench"
	echoMethod   = "/" + serviceName + "/Echo"
	streamMethod = "/" + serviceName + "/Stream"
)

// maxMsg is the receive limit on both sides: gRPC's default (4 MiB) is
// below the largest payload rshm bench asks for.
const maxMsg = benchkit.MaxSize + 1<<10

// serviceDesc is what protoc would generate for
//
//	service Bench {
//	  rpc Echo(bytes) returns (bytes);
//	  rpc Stream(bytes) returns (stream bytes);
//	}
var serviceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: echoHandler}},
	Streams:     []grpc.StreamDesc{{StreamName: "Stream", Handler: streamHandler, ServerStreams: true}},
	Metadata:    "rshm-grpc (hand-written, raw bytes)",
}

// echoHandler answers Echo with its request.
func echoHandler(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	var req []byte
	if err := dec(&req); err != nil {
		return nil, err
	}
	if icpt == nil {
		return &req, nil
	}
	info := &grpc.UnaryServerInfo{FullMethod: echoMethod}
	return icpt(ctx, &req, info, func(_ context.Context, r any) (any, error) { return r, nil })
}

// streamHandler answers Stream's "size:N" with N-byte stamped payloads
// until the client cancels (SendMsg then fails).
func streamHandler(_ any, ss grpc.ServerStream) error {
	var req []byte
	if err := ss.RecvMsg(&req); err != nil {
		return err
	}
	size, err := benchkit.ParseStreamRequest(req)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	p := make([]byte, size) // reused: Marshal copies
	for {
		benchkit.Stamp(p)
		if err := ss.SendMsg(&p); err != nil {
			return err
		}
	}
}

// newServer is the benchmark's gRPC server, gRPC-go's defaults but for the
// codec and the receive limit.
func newServer() *grpc.Server {
	s := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}), grpc.MaxRecvMsgSize(maxMsg))
	s.RegisterService(&serviceDesc, nil)
	return s
}
