// The YAML parser behind a module of its own, so load.ts can load it on first use (see parseYaml
// there) with the bundler's usual interop for the CommonJS package.
export { parseDocument } from 'yaml';
