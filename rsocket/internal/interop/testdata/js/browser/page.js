// The browser test page (browser_test.go): rsocket-js 0.0.27's WebSocket
// client, running in Chromium, makes a request-response, a request-stream
// with request(n) and a channel against the rshm server that served the
// page (ws://<page host>/rsocket), and POSTs what it saw to /result:
// {"ok": true, "rr": ..., "stream": [...], "channel": [...]} or
// {"ok": false, "error": "..."}.
'use strict';

const {RSocketClient} = require('rsocket-core');
const {Flowable} = require('rsocket-flowable');
const RSocketWebSocketClient = require('rsocket-websocket-client').default;

const MAX_REQUEST_N = 0x7fffffff;
const QUIET_MS = 200;

function report(result) {
  return fetch('/result', {method: 'POST', body: JSON.stringify(result)});
}

function fail(e) {
  report({ok: false, error: e && e.stack ? e.stack : String(e)});
}
window.addEventListener('error', e => fail(e.error || e.message));
window.addEventListener('unhandledrejection', e => fail(e.reason));

function sleep(ms) {
  return new Promise(r => setTimeout(r, ms));
}

function requestResponse(socket, payload) {
  return new Promise((resolve, reject) =>
    socket.requestResponse(payload).subscribe({onComplete: resolve, onError: reject}),
  );
}

// collect subscribes with an initial request(n) and returns a handle whose
// items fill in; until(pred) waits for pred over them.
function collect(flowable, initial) {
  const h = {items: [], done: false, error: null, sub: null, wake: () => {}};
  flowable.subscribe({
    onSubscribe: s => {
      h.sub = s;
      s.request(initial);
    },
    onNext: p => {
      h.items.push(p.data);
      h.wake();
    },
    onComplete: () => {
      h.done = true;
      h.wake();
    },
    onError: e => {
      h.error = e;
      h.wake();
    },
  });
  h.until = pred =>
    new Promise((resolve, reject) => {
      const test = () => {
        if (h.error) {
          reject(h.error);
        } else if (pred()) {
          resolve();
        } else {
          h.wake = test;
        }
      };
      test();
    });
  return h;
}

async function main() {
  const client = new RSocketClient({
    setup: {
      keepAlive: 10000,
      lifetime: 30000,
      dataMimeType: 'text/plain',
      metadataMimeType: 'text/plain',
      payload: {data: 'browser'},
    },
    transport: new RSocketWebSocketClient({url: 'ws://' + location.host + '/rsocket'}),
  });
  const socket = await new Promise((resolve, reject) =>
    client.connect().subscribe({onComplete: resolve, onError: reject}),
  );

  const rr = await requestResponse(socket, {data: 'hello', metadata: 'meta'});

  // request(2), then nothing more may come until request(3).
  const st = collect(socket.requestStream({data: 'count:5'}), 2);
  await st.until(() => st.items.length >= 2);
  await sleep(QUIET_MS);
  const firstBatch = st.items.slice();
  const doneEarly = st.done;
  st.sub.request(3);
  await st.until(() => st.done);

  const ch = collect(
    socket.requestChannel(Flowable.just({data: 'a'}, {data: 'b', metadata: 'mb'}, {data: 'c'})),
    MAX_REQUEST_N,
  );
  await ch.until(() => ch.done);

  await report({
    ok: true,
    userAgent: navigator.userAgent,
    rr: {data: rr.data, metadata: rr.metadata},
    streamFirst: firstBatch,
    streamDoneEarly: doneEarly,
    stream: st.items,
    channel: ch.items,
  });
  client.close();
}

main().catch(fail);
