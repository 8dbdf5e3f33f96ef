// ES module entry of neurolmm/io: the CommonJS build's exports, by name.
export * from '../dist/src/io/index.js';
