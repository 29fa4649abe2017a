// Runs a TCP peer of this directory (client.js, server.js) over rsocket-js
// 0.0.27's WebSocket transport instead: run(script) makes
// require('rsocket-tcp-client') and require('rsocket-tcp-server') return
// adapters around rsocket-websocket-client and rsocket-websocket-server,
// then runs the script, so the scenarios, the checks and the event log are
// the same code over both transports. The WebSocket endpoint is
// ws://HOST:PORT/rsocket (WS_PATH), one RSocket frame per binary message.
'use strict';

const Module = require('module');
const WebSocket = require('ws');
const RSocketWebSocketClient = require('rsocket-websocket-client').default;
const RSocketWebSocketServer = require('rsocket-websocket-server').default;

const WS_PATH = '/rsocket';

// WebSocketClient takes RSocketTcpClient's options ({host, port}). Node has
// no global WebSocket: the ws package makes the socket.
class WebSocketClient extends RSocketWebSocketClient {
  constructor({host, port}, encoders) {
    super({url: `ws://${host}:${port}${WS_PATH}`, wsCreator: url => new WebSocket(url)}, encoders);
  }
}

// WebSocketServer takes RSocketTCPServer's options ({host, port}) and, as
// listenTCP in common.js does, prints "LISTENING <port>" once it listens.
class WebSocketServer extends RSocketWebSocketServer {
  constructor({host, port}, encoders) {
    super({}, encoders, () => {
      const wss = new WebSocket.Server({host, port, path: WS_PATH});
      wss.on('listening', () => process.stdout.write('LISTENING ' + wss.address().port + '\n'));
      // RSocketWebSocketServer.stop calls stop(), which ws names close().
      wss.stop = () => wss.close();
      return wss;
    });
  }
}

const replacements = {
  'rsocket-tcp-client': {default: WebSocketClient},
  'rsocket-tcp-server': {default: WebSocketServer},
};

function run(script) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    return replacements[request] || load.call(this, request, parent, isMain);
  };
  require('./' + script);
}

module.exports = {run, WS_PATH};
