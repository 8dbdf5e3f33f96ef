// ES module entry of neurolmm/viewers: the CommonJS build's exports, by name.
export * from '../dist/src/viewers/index.js';
