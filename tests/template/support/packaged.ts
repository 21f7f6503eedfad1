/** What `serverless package` writes and `serverless deploy` hands to CloudFormation. */
export const TEMPLATE_FILE = 'cloudformation-template-update-stack.json';

/** The stage the template is packaged for (the one .ci/run packages into .serverless-ci/). */
export const PACKAGED_STAGE = 'ci';
