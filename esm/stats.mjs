// ES module entry of neurolmm/stats: the CommonJS build's exports, by name.
export * from '../dist/src/stats/index.js';
