export { buildProgram, main, run, type CliIO } from './main';
