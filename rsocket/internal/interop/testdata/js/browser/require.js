// A CommonJS loader for the browser test page (browser_test.go): the Go
// test serves the rsocket-js modules from node_modules wrapped as
//   rshmDefine('rsocket-core/build/RSocketClient.js', function (require, module, exports) {...});
// and each package's main as rshmPackage('rsocket-core', 'build/index.js'),
// and this resolves their require() calls, so the page runs rsocket-js's
// published CommonJS build without a bundler.
'use strict';
(function () {
  const defs = {};
  const mains = {};
  const cache = {};
  // Node built-ins the modules ask for. rsocket-core's LiteBuffer requires
  // 'buffer' and uses its own Buffer when that module has none.
  const builtins = {buffer: {}};

  window.rshmDefine = (path, fn) => {
    defs[path] = fn;
  };
  window.rshmPackage = (name, main) => {
    mains[name] = name + '/' + main.replace(/^\.\//, '');
  };

  function resolve(from, request) {
    if (builtins[request]) {
      return request;
    }
    if (!request.startsWith('.')) {
      return mains[request] || request;
    }
    const parts = from.split('/');
    parts.pop();
    for (const p of request.split('/')) {
      if (p === '..') {
        parts.pop();
      } else if (p !== '.') {
        parts.push(p);
      }
    }
    const path = parts.join('/');
    return path.endsWith('.js') ? path : path + '.js';
  }

  function load(path) {
    if (builtins[path]) {
      return builtins[path];
    }
    if (cache[path]) {
      return cache[path].exports;
    }
    const fn = defs[path];
    if (!fn) {
      throw new Error('require: no module ' + path);
    }
    const module = {exports: {}};
    cache[path] = module;
    fn(request => load(resolve(path, request)), module, module.exports);
    return module.exports;
  }

  window.require = name => load(resolve('', name));
})();
