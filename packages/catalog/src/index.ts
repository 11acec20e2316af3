export * from './package';
export * from './render';
export * from './load';
export * from './builtin';
export * from './repository';
export * from './fidelity';
export * from './secret-options';
