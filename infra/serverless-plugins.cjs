// serverless.yml `plugins`: offline runs the TypeScript handlers through tsx, so nothing is bundled locally; every
// other command (package, deploy) bundles them with serverless-esbuild, since Lambda cannot run .ts (embedded-stack.md P17).
module.exports = () => (process.argv.includes('offline') ? ['serverless-offline'] : ['serverless-esbuild', 'serverless-offline']);
