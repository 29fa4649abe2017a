#!/usr/bin/env node
// metadata_server.js PORT_OR_0 [--watch-stdin]
//
// An rsocket-js 0.0.27 TCP server on 127.0.0.1 that decodes the composite
// metadata of every request-response with rsocket-core's own decoders
// (decodeCompositeMetadata, decodeRoutes, decodeAuthMetadata,
// decodeSimpleAuthPayload), prints what it found as a "decoded" event and
// answers with the same JSON as data. Prints "LISTENING <port>" when ready.
// Used by internal/interop router_test.go to check that rshm's encoders
// produce what rsocket-js reads.
'use strict';

const {
  RSocketServer,
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
    return responder;
  },
  transport: listenTCP(port),
  errorHandler: e => emit('connectionError', {message: e.message}),
});
serveUntilStopped(server, opts);
