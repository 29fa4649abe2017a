#!/usr/bin/env node
// server.js PORT_OR_0 [--mtu N] [--fix-metadata]
//
// An rsocket-js 0.0.27 TCP server on 127.0.0.1 that answers like `rshm serve`:
//   request-response  echoes data and metadata;
//   fire-and-forget   logged;
//   request-stream    N payloads with data "0".."N-1" (N from data "count:N",
//                     else 10), exactly as many as request(n) allows;
//   request-channel   echoes every payload, completes when the requester does;
//   metadata push     logged;
//   data "error"      application error with message ERROR_MESSAGE.
// Prints "LISTENING <port>" when ready, then one JSON event per line.
//
// --mtu N          fragment outgoing frames above N bytes (harness code,
//                  rsocket-js 0.0.27 cannot fragment);
// --fix-metadata   work around rsocket-js dropping metadata from responder
//                  PAYLOAD frames (see common.js wrapConnection);
// --watch-stdin    exit when stdin reaches EOF (the parent went away).
'use strict';

const {RSocketServer} = require('rsocket-core');
const {Flowable, Single} = require('rsocket-flowable');
const {emit, describe, parseArgs, wrapConnection, listenTCP, serveUntilStopped} = require('./common');

const ERROR_MESSAGE = 'requested error';
const DEFAULT_COUNT = 10;

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0] || 0);
const mtu = opts.mtu ? Number(opts.mtu) : 0;
const fixMetadata = !!opts['fix-metadata'];

function text(b) {
  return b == null ? '' : b.toString('utf8');
}

function count(payload) {
  const m = /^count:(\d+)$/.exec(text(payload.data));
  return m ? Number(m[1]) : DEFAULT_COUNT;
}

function echo(p) {
  const out = {data: p.data == null ? Buffer.alloc(0) : p.data};
  if (p.metadata != null) {
    out.metadata = p.metadata;
  }
  return out;
}

// stream emits payloads 0..n-1, exactly as many as requested.
function stream(n) {
  return new Flowable(subscriber => {
    let next = 0;
    let cancelled = false;
    let emitting = false;
    let demand = 0;
    subscriber.onSubscribe({
      cancel: () => {
        cancelled = true;
        emit('cancel', {model: 'stream', sent: next});
      },
      request: k => {
        emit('requestN', {model: 'stream', n: k});
        demand += k;
        if (emitting) {
          return; // re-entrant request from onNext: the loop below picks it up
        }
        emitting = true;
        while (demand > 0 && next < n && !cancelled) {
          demand--;
          subscriber.onNext({data: Buffer.from(String(next++))});
        }
        emitting = false;
        if (next === n && !cancelled) {
          cancelled = true; // complete once
          emit('complete', {model: 'stream', sent: next});
          subscriber.onComplete();
        }
      },
    });
  });
}

// channel echoes the requester's payloads, one for one with the demand.
function channel(payloads) {
  return new Flowable(subscriber => {
    let upstream = null;
    let pending = 0; // demand that arrived before the upstream subscription
    payloads.subscribe({
      onSubscribe: s => {
        upstream = s;
        if (pending > 0) {
          s.request(pending);
        }
      },
      onNext: p => {
        emit('channelNext', describe(p));
        if (p.data != null && text(p.data) === 'error') {
          upstream.cancel();
          subscriber.onError(new Error(ERROR_MESSAGE));
          return;
        }
        subscriber.onNext(echo(p));
      },
      onComplete: () => {
        emit('complete', {model: 'channel'});
        subscriber.onComplete();
      },
      onError: e => {
        emit('channelError', {message: e.message});
        subscriber.onError(e);
      },
    });
    subscriber.onSubscribe({
      cancel: () => {
        emit('cancel', {model: 'channel'});
        if (upstream) {
          upstream.cancel();
        }
      },
      request: k => {
        emit('requestN', {model: 'channel', n: k});
        if (upstream) {
          upstream.request(k);
        } else {
          pending += k;
        }
      },
    });
  });
}

const responder = {
  requestResponse(p) {
    emit('rr', describe(p));
    if (text(p.data) === 'error') {
      return Single.error(new Error(ERROR_MESSAGE));
    }
    return Single.of(echo(p));
  },
  fireAndForget(p) {
    emit('fnf', describe(p));
  },
  requestStream(p) {
    emit('stream', describe(p));
    if (text(p.data) === 'error') {
      return Flowable.error(new Error(ERROR_MESSAGE));
    }
    return stream(count(p));
  },
  requestChannel(payloads) {
    emit('channel', {});
    return channel(payloads);
  },
  metadataPush(p) {
    emit('metadataPush', describe(p));
    return Single.of(undefined);
  },
};

const tcp = listenTCP(port);

// Decorate every accepted connection (fragmentation, metadata fix).
const transport = {
  start: () =>
    new Flowable(subscriber => {
      tcp.start().subscribe({
        onSubscribe: s => subscriber.onSubscribe(s),
        onNext: conn => {
          emit('connection', {});
          subscriber.onNext(wrapConnection(conn, {mtu, fixMetadata}));
        },
        onComplete: () => subscriber.onComplete(),
        onError: e => subscriber.onError(e),
      });
    }),
  stop: () => tcp.stop(),
};

const server = new RSocketServer({
  getRequestHandler: (socket, setup) => {
    emit('setup', describe(setup));
    return responder;
  },
  transport,
  errorHandler: e => emit('connectionError', {message: e.message}),
});
serveUntilStopped(server, opts);
