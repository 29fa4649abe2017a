#!/usr/bin/env node
// resume_client.js PORT SCENARIO [--items N] [--window N] [--token T] [--keepalive MS] [--report N]
//
// An rsocket-js 0.0.27 client on RSocketResumableTransport (rsocket-core)
// over TCP, for the resumption interop test (internal/interop
// resume_test.go), which serves it from an rshm server with
// ServerConfig.Resume through a proxy that cuts the TCP connection
// mid-stream. The transport does not reconnect by itself: when its status
// turns NOT_CONNECTED this script calls connect() again, which opens a new
// TCP connection and sends RESUME. Scenarios:
//   stream   request-stream "seq:N": request(window) up front, then
//            request(window) each time a window has arrived; checks that
//            items "0".."N-1" arrive exactly once, in order, then completion;
//   channel  request-channel: sends "0".."N-1" as the server's credit
//            allows (one every 2 ms), the server echoes each; checks the
//            echoes as above.
// --keepalive sets the KEEPALIVE interval (default 1000 ms; the lifetime is
// 10 s). Events: "status" {kind, message} for every transport status,
// "item" {i} every --report (default 10) items, "done" {items, connects};
// on failure {"event":"fail",...} and exit 1.
'use strict';

const {RSocketClient, BufferEncoders, RSocketResumableTransport} = require('rsocket-core');
const RSocketTcpClient = require('rsocket-tcp-client').default;
const {Flowable} = require('rsocket-flowable');
const {emit, parseArgs} = require('./common');

const {pos, opts} = parseArgs(process.argv.slice(2));
const port = Number(pos[0]);
const scenario = pos[1];
const items = Number(opts.items || 200);
const windowN = Number(opts.window || 16);
const report = Number(opts.report || 10);
const token = Buffer.from(opts.token || 'js-resume-token');
const keepAlive = Number(opts.keepalive || 1000);

class Failure extends Error {}

const transport = new RSocketResumableTransport(
  () => new RSocketTcpClient({host: '127.0.0.1', port}, BufferEncoders),
  {bufferSize: 1 << 20, resumeToken: token, sessionDurationSeconds: 10},
  BufferEncoders,
);

let connects = 0;
let closing = false;
transport.connectionStatus().subscribe({
  onSubscribe: s => s.request(0x7fffffff),
  onNext: status => {
    emit('status', {kind: status.kind, message: status.error ? status.error.message : undefined});
    if (status.kind === 'CONNECTED') {
      connects++;
    } else if (status.kind === 'NOT_CONNECTED' && connects > 0 && !closing) {
      // Reconnect: a new TCP connection that starts with RESUME.
      setTimeout(() => transport.connect(), 20);
    } else if (status.kind === 'ERROR') {
      fail(status.error);
    }
  },
});

function fail(e) {
  emit('fail', {scenario, message: e && e.message ? e.message : String(e)});
  process.exit(1);
}

// expectSequence returns a subscriber that checks items "0".."items-1"
// arrive in order, exactly once, requesting windowN at a time.
function expectSequence(resolve, reject) {
  let next = 0;
  let sub = null;
  let outstanding = 0;
  return {
    onSubscribe: s => {
      sub = s;
      outstanding = windowN;
      s.request(windowN);
    },
    onNext: p => {
      const got = p.data == null ? '' : p.data.toString('utf8');
      if (got !== String(next)) {
        reject(new Failure('item ' + next + ': got "' + got + '"'));
        return;
      }
      next++;
      if (next % report === 0) {
        emit('item', {i: next});
      }
      if (--outstanding === 0 && next < items) {
        outstanding = windowN;
        sub.request(windowN);
      }
    },
    onComplete: () => (next === items ? resolve(next) : reject(new Failure('completed after ' + next + ' items'))),
    onError: reject,
  };
}

// pacedSequence emits "0".."n-1" as requested, one every 2 ms.
function pacedSequence(n) {
  return new Flowable(subscriber => {
    let sent = 0;
    let credit = 0;
    let timer = null;
    let cancelled = false;
    const pump = () => {
      timer = null;
      if (cancelled) {
        return;
      }
      if (sent === n) {
        subscriber.onComplete();
        return;
      }
      if (credit > 0) {
        credit--;
        subscriber.onNext({data: Buffer.from(String(sent++))});
        timer = setTimeout(pump, 2);
      }
    };
    subscriber.onSubscribe({
      request: k => {
        credit += k;
        if (timer === null) {
          timer = setTimeout(pump, 2);
        }
      },
      cancel: () => {
        cancelled = true;
      },
    });
  });
}

const scenarios = {
  stream: socket =>
    new Promise((resolve, reject) =>
      socket.requestStream({data: Buffer.from('seq:' + items)}).subscribe(expectSequence(resolve, reject)),
    ),
  channel: socket =>
    new Promise((resolve, reject) =>
      socket.requestChannel(pacedSequence(items)).subscribe(expectSequence(resolve, reject)),
    ),
};

async function main() {
  const run = scenarios[scenario];
  if (!run || !port) {
    process.stderr.write('usage: resume_client.js PORT ' + Object.keys(scenarios).join('|') + '\n');
    process.exit(2);
  }
  const client = new RSocketClient({
    setup: {
      keepAlive,
      lifetime: 10000,
      dataMimeType: 'application/octet-stream',
      metadataMimeType: 'application/octet-stream',
      payload: {data: Buffer.from('resume-client')},
    },
    transport,
  });
  const socket = await new Promise((resolve, reject) =>
    client.connect().subscribe({onComplete: resolve, onError: reject}),
  );
  const n = await run(socket);
  emit('done', {scenario, items: n, connects});
  closing = true;
  client.close();
}

const deadline = setTimeout(() => fail(new Failure('scenario timed out')), 15000);

main().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  fail,
);
