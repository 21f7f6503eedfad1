// A service-local Serverless plugin: before the deployment artifacts are made, the web order ticket is built into
// web/dist (infra/web.ts: index.html, ticket.js with the SDK, the AsyncAPI and OpenAPI documents), so the `web`
// function's package (its `package.patterns`) carries the files it serves on AWS. `npm start` builds its own copy.
/* eslint-disable @typescript-eslint/no-require-imports -- Serverless loads service-local plugins with require(): this file is CommonJS. */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

class WebAssetsPlugin {
  constructor(serverless) {
    const root = serverless.serviceDir ?? serverless.config?.servicePath ?? process.cwd();
    const build = () => {
      execFileSync(process.execPath, ['--import', 'tsx', join(root, 'infra', 'web.ts'), join(root, 'web', 'dist')], { cwd: root, stdio: 'inherit' });
    };
    this.hooks = { 'before:package:createDeploymentArtifacts': build, 'before:deploy:function:packageFunction': build };
  }
}

module.exports = WebAssetsPlugin;
