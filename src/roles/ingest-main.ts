/** Process entry for `ws-manager ingest` alone: `node --import tsx src/roles/ingest-main.ts`. */
import { ingestCommand } from './ingest-command.js';

await ingestCommand(process.argv.slice(2));
