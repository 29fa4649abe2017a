// Package interop holds the tests that run rshm against rsocket-js 0.0.27,
// the reference JavaScript implementation, over TCP: an rshm client against
// testdata/js/server.js and testdata/js/client.js against an rshm server,
// for every interaction model, errors, cancellation and fragmentation; lease
// in both directions (lease_test.go), composite metadata with routing and
// authentication both ways (router_test.go), and resumption of an rshm
// server's session by rsocket-js's RSocketResumableTransport through a TCP
// proxy that cuts the connection mid-stream (resume_test.go).
//
// The JavaScript peers live in testdata/js with a committed package-lock.json;
// install them with
//
//	cd rsocket/internal/interop/testdata/js && npm ci
//
// (make test does this). Without node or node_modules the tests skip.
//
// The package has no API: this file exists so that the directory is a package.
package interop
