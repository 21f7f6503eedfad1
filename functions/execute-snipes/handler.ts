// Sniper orders at their pool's open time: the execution Lambda's own code, on the snipes queue (serverless.yml).
export { handler } from '../execute-order/handler';
