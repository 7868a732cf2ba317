/**
 * The store's error table: a failed LMDB commit (storage-fault.ts `StorageError`) and a data
 * directory held by another process (dir-lock.ts `DataDirLockedError`). Codes are `STORE_<KIND>`
 * (common/errors.ts). A commit failure's errno name stays on the error as `errno`; the code says
 * what it means for the caller: a full disk or map (retry once space is freed) or any other
 * failed write.
 */
import { errorCode, registerErrorCodes } from '../common/errors.js';

export const STORE_ERRORS = {
  ENOSPC: 'a commit failed: no space left on the device (or a short write on a nearly full one)',
  EDQUOT: "a commit failed: the user's disk quota is exhausted",
  MAP_FULL: "a commit failed: LMDB's map size is used up (MDB_MAP_FULL)",
  WRITE_FAILED: 'a commit failed for another reason (EIO, ...); `errno` names it',
  DIR_LOCKED: 'the data directory is held by another live process (or already open in this one)',
} as const;

registerErrorCodes('STORE', 'src/store/errors.ts', STORE_ERRORS);

export type StorageErrorKind = Exclude<keyof typeof STORE_ERRORS, 'DIR_LOCKED'>;
export type StorageErrorCode = `STORE_${StorageErrorKind}`;

/** The code of a failed commit's errno name (`ENOSPC`, `EIO`, `MDB_MAP_FULL`, ...). */
export function storageErrorCode(errno: string): StorageErrorCode {
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return errorCode('STORE', errno);
  if (errno === 'MDB_MAP_FULL') return errorCode('STORE', 'MAP_FULL');
  return errorCode('STORE', 'WRITE_FAILED');
}
