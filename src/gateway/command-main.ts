/** Process entry for `ws-manager serve` alone: `node --import tsx src/gateway/command-main.ts`. */
import { serveCommand } from './command.js';

await serveCommand(process.argv.slice(2));
