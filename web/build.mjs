// Bundles GraphiQL into dist/graphiql.js and dist/graphiql.css for the server to serve.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.jsx'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outfile: 'dist/graphiql.js',
  loader: { '.js': 'jsx', '.jsx': 'jsx' },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
console.log('built web/dist/graphiql.js and web/dist/graphiql.css');
