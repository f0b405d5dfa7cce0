/**
 * tsconfig's `moduleResolution: node` does not read package `exports`, so TypeScript cannot
 * see PGlite's `./vector` subpath that Node (and jest) resolve fine; point it at the file.
 */
declare module '@electric-sql/pglite/vector' {
  export { vector } from '@electric-sql/pglite/dist/vector/index';
}
