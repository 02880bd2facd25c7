/** Process entry for `ws-manager serve` alone: `node --import tsx src/roles/serve-main.ts`. */
import { serveCommand } from './serve-command.js';

await serveCommand(process.argv.slice(2));
