// serverless.yml `plugins`: offline runs the TypeScript handlers through tsx, so nothing is bundled locally; every
// other command (package, deploy) bundles them with serverless-esbuild, since Lambda cannot run .ts (embedded-stack.md P17).
// Before serverless-esbuild packs, ./infra/web-assets-plugin.cjs builds the web ticket's files for the `web` function.
module.exports = () =>
  process.argv.includes('offline') ? ['serverless-offline'] : ['./infra/web-assets-plugin.cjs', 'serverless-esbuild', 'serverless-offline'];
