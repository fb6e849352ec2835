/**
 * Stands in for a dependency that sits on a code path the functions never take (BUNDLE_STUBS in infra/bundling.ts
 * says which and why), so it stays out of the Lambda bundles. Importing it is harmless; calling anything on it
 * throws, naming what was called, instead of failing somewhere less obvious.
 */
'use strict';

module.exports = new Proxy(
  {},
  {
    get(_target, key) {
      // Interop probes (esModule flags, default exports, thenables, symbols) see a plain empty module.
      if (typeof key === 'symbol' || key === '__esModule' || key === 'default' || key === 'then') return undefined;
      return function stubbedOut() {
        throw new Error(`${String(key)}() belongs to a dependency left out of this Lambda bundle (infra/bundling.ts BUNDLE_STUBS)`);
      };
    },
  },
);
