export * from './codec.js';
export * from './limits.js';
