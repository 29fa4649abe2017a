module github.com/rshm/rshm/bench/grpcbench

go 1.26.0

require (
	github.com/rshm/rshm v0.0.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/klauspost/cpuid/v2 v2.4.2 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/rshm/rshm => ../..
