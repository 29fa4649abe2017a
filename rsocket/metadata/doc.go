// Package metadata encodes and decodes the RSocket metadata extensions, all
// at "version 0" (rsocket/rsocket, Extensions/*.md):
//
//   - the well-known MIME type table (WellKnownMimeTypes.md): MimeType;
//   - composite metadata (CompositeMetadata.md): AppendComposite, Reader;
//   - routing (Routing.md): AppendRoute, RouteReader;
//   - per-stream data MIME types (PerStreamDataMimeTypesDefinition.md):
//     AppendDataMIME, ParseDataMIME, AppendAcceptMIMEs, MIMEReader;
//   - authentication (Security/Authentication.md): AppendAuthSimple,
//     AppendAuthBearer, AppendAuthCustom, ParseAuth, ParseSimple;
//   - tracing (Tracing-Zipkin.md): Tracing, AppendTracing, ParseTracing.
//
// Encoders are append-style and do not allocate beyond growing b. Decoders
// return views into their input: a view is valid as long as the input is
// (for a Payload handed to a handler, until the handler returns); copy what
// you keep. Decoders never panic on malformed input: they return an error
// wrapping ErrMalformed.
//
// Where the specification leaves an encoding open, this package writes what
// rsocket-java and rsocket-js 0.0.27 write, so that they can read it: a
// custom MIME type or auth type name is sent with its length minus one in
// the 7-bit length field (1..128 bytes), and testdata/vectors.json holds
// byte vectors produced by rsocket-js that the tests compare against.
package metadata
