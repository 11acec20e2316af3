export * from './view';
export * from './server';
