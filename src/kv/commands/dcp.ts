/** DCP opcodes are served by the DCP producer (src/dcp); this is where the KV table picks them up. */
export { DCP_COMMANDS } from '../../dcp/commands.js';
