/** Placeholder until the view engine (branch e-views) is merged. */
import type { JsonIndexSource } from './cursor.js';
export const viewIndexSource: JsonIndexSource | null = null;
