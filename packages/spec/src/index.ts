export * from './app';
export * from './task';
export * from './protocol';
export * from './pod';
export * from './job';
export * from './audit';
export * from './json';
