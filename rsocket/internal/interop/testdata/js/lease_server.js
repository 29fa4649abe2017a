#!/usr/bin/env node
// lease_server.js PORT_OR_0 [--watch-stdin]
//
// An rsocket-js 0.0.27 TCP server on 127.0.0.1 with leasing, for the rshm
// lease interop test (internal/interop/lease_test.go):
//   - it grants the client one LEASE of 3 requests for 60 s;
//   - request-response echoes the data (event "rr");
//   - on the first LEASE from the client (event "lease" with ttl and n) it
//     makes two request-responses to the client under that lease: events
//     "serverRR" {index, data} or "serverRRError" {index, message}.
// Prints "LISTENING <port>" when ready, then one JSON event per line.
'use strict';

const {RSocketServer, Lease, Leases} = require('rsocket-core');
const {Flowable, Single} = require('rsocket-flowable');
const {emit, parseArgs, listenTCP, serveUntilStopped} = require('./common');

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0] || 0);

let requester = null; // the client's socket, as requester
let called = false;

function callClient() {
  if (called || requester == null) {
    return;
  }
  called = true;
  let i = 0;
  const next = () => {
    const index = i++;
    if (index >= 2) {
      return;
    }
    requester.requestResponse({data: Buffer.from('from-js-' + index)}).subscribe({
      onComplete: p => {
        emit('serverRR', {index, data: p.data == null ? '' : p.data.toString('utf8')});
        next();
      },
      onError: e => {
        emit('serverRRError', {index, message: e.message});
        next();
      },
    });
  };
  next();
}

const leases = () =>
  new Leases()
    .sender(() => Flowable.just(new Lease(60000, 3)))
    .receiver(received =>
      received.subscribe({
        onSubscribe: s => s.request(1 << 30),
        onNext: l => {
          emit('lease', {ttl: l.timeToLiveMillis, n: l.allowedRequests});
          // Let the lease handler record it before using it.
          setImmediate(callClient);
        },
      }),
    );

const responder = {
  requestResponse(p) {
    const data = p.data == null ? '' : p.data.toString('utf8');
    emit('rr', {data});
    return Single.of({data: Buffer.from(data)});
  },
};

const tcp = listenTCP(port);

const server = new RSocketServer({
  getRequestHandler: socket => {
    emit('setup', {});
    requester = socket;
    return responder;
  },
  transport: tcp,
  leases,
  errorHandler: e => emit('connectionError', {message: e.message}),
});
serveUntilStopped(server, opts);
