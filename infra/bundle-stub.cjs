/**
 * Stands in for a dependency that sits on a code path the functions never take (BUNDLE_STUBS in infra/bundling.ts
 * says which and why), so it stays out of the Lambda bundles. Importing it is harmless; calling anything on it
 * throws, naming what was called, instead of failing somewhere less obvious.
 */
'use strict';

const handler = {
  get(_target, key) {
    // Interop probes (esModule flags, default exports, thenables, symbols) see a plain empty module.
    if (typeof key === 'symbol' || key === '__esModule' || key === 'default' || key === 'then') return undefined;
    return function stubbedOut() {
      throw new Error(`${String(key)}() belongs to a dependency left out of this Lambda bundle (infra/bundling.ts BUNDLE_STUBS)`);
    };
  },
};

// An ES module's `import()` of this file gets esbuild's namespace copy (__toESM), which copies own properties
// (there are none) onto an object whose prototype is this module's: that prototype answers like the module, so
// `(await import('stubbed')).fromIni()` throws the message above too, rather than "is not a function".
const prototype = new Proxy(Object.create(null), handler);

module.exports = new Proxy({}, { ...handler, getPrototypeOf: () => prototype });
