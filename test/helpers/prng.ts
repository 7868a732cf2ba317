/** The tests' seeded generator is the server's (src/common/prng.ts), so a fuzz failure replays from its seed. */
export { mulberry32 } from '../../src/common/prng.js';
