/** Document size limits, as Couchbase Server enforces them (kv_engine `max_item_size`, key length). */
export const MAX_KEY_BYTES = 250;
export const MAX_VALUE_BYTES = 20 * 1024 * 1024;
