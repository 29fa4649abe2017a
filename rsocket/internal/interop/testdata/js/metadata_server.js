#!/usr/bin/env node
// metadata_server.js PORT_OR_0 [--watch-stdin] [--call-client]
//
// An rsocket-js 0.0.27 TCP server on 127.0.0.1 that decodes the composite
// metadata of every request-response with rsocket-core's own decoders
// (decodeCompositeMetadata, decodeRoutes, decodeAuthMetadata,
// decodeSimpleAuthPayload), prints what it found as a "decoded" event and
// answers with the same JSON as data. Prints "LISTENING <port>" when ready.
// Used by internal/interop router_test.go to check that rshm's encoders
// produce what rsocket-js reads. With --call-client it also calls the
// client, the other way round, with composite metadata encoded by
// rsocket-core (for an rshm client whose handler is a router): once
// connected, request-response "client.echo" with bearer token "token-1"
// (event "clientRR" {data} or "clientRRError" {code, message}), then
// "client.echo" with simple auth user/wrong (the same events, index 1).
'use strict';

const {
  RSocketServer,
  encodeCompositeMetadata,
  encodeRoutes,
  encodeBearerAuthMetadata,
  encodeSimpleAuthMetadata,
  decodeCompositeMetadata,
  decodeRoutes,
  decodeAuthMetadata,
  decodeSimpleAuthPayload,
  MESSAGE_RSOCKET_ROUTING,
  MESSAGE_RSOCKET_AUTHENTICATION,
} = require('rsocket-core');
const {Single} = require('rsocket-flowable');
const {emit, parseArgs, listenTCP, serveUntilStopped} = require('./common');

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0] || 0);

function decode(metadata) {
  const out = {entries: []};
  for (const entry of decodeCompositeMetadata(metadata)) {
    out.entries.push(entry.mimeType === undefined ? 'reserved:' + entry.type : entry.mimeType);
    if (entry.mimeType === MESSAGE_RSOCKET_ROUTING.string) {
      out.tags = Array.from(decodeRoutes(entry.content));
    } else if (entry.mimeType === MESSAGE_RSOCKET_AUTHENTICATION.string) {
      const auth = decodeAuthMetadata(entry.content);
      out.authType = auth.type.string;
      if (auth.type.string === 'simple') {
        const {username, password} = decodeSimpleAuthPayload(auth.payload);
        out.username = username.toString('utf8');
        out.password = password.toString('utf8');
      } else {
        out.token = auth.payload.toString('utf8');
      }
    } else {
      out[entry.mimeType || 'reserved'] = entry.content.toString('utf8');
    }
  }
  return out;
}

function callClient(socket) {
  const calls = [
    [Buffer.from('to-client'), encodeBearerAuthMetadata('token-1')],
    [Buffer.from('to-client-bad'), encodeSimpleAuthMetadata('user', 'wrong')],
  ];
  const next = index => {
    if (index >= calls.length) {
      return;
    }
    const [data, auth] = calls[index];
    const metadata = encodeCompositeMetadata([
      [MESSAGE_RSOCKET_ROUTING, encodeRoutes('client.echo')],
      [MESSAGE_RSOCKET_AUTHENTICATION, auth],
    ]);
    socket.requestResponse({data, metadata}).subscribe({
      onComplete: p => {
        emit('clientRR', {index, data: p.data == null ? '' : p.data.toString('utf8')});
        next(index + 1);
      },
      onError: e => {
        const src = e.source || {};
        emit('clientRRError', {index, code: src.code, message: src.message});
        next(index + 1);
      },
    });
  };
  // After the SETUP has been handled.
  setImmediate(() => next(0));
}

const responder = {
  requestResponse(p) {
    let d;
    try {
      d = decode(p.metadata || Buffer.alloc(0));
    } catch (e) {
      emit('decodeError', {message: e.message});
      return Single.error(new Error('decode: ' + e.message));
    }
    emit('decoded', d);
    return Single.of({data: Buffer.from(JSON.stringify(d))});
  },
};

const server = new RSocketServer({
  getRequestHandler: (socket, setup) => {
    emit('setup', {metadataMimeType: setup.metadataMimeType, dataMimeType: setup.dataMimeType});
    if (opts['call-client']) {
      callClient(socket);
    }
    return responder;
  },
  transport: listenTCP(port),
  errorHandler: e => emit('connectionError', {message: e.message}),
});
serveUntilStopped(server, opts);
