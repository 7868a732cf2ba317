/**
 * The errors of `freshet xdcr push` (src/xdcr): codes `XDCR_*` in the registry of
 * src/common/errors.ts.
 */
import { errorCode, FreshetError, registerErrorCodes } from '../common/errors.js';

registerErrorCodes('XDCR', 'src/xdcr/errors.ts', {
  TARGET_REFUSED: 'the target refused a replicated write for good (bad value, no permission)',
});

/** A write the target refuses for good (bad value, no permission): the push stops with it. */
export class XdcrTargetError extends FreshetError<'XDCR_TARGET_REFUSED'> {
  constructor(
    message: string,
    /** The memcached status the target answered. */
    readonly status: number,
  ) {
    super(errorCode('XDCR', 'TARGET_REFUSED'), message);
  }
}
