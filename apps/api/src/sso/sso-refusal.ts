import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';

/** What is known about the person when a sign-in is refused: it goes into the audit row. */
export interface RefusalSubject {
  subject?: string;
  email?: string;
  userId?: string;
  retailerId?: string;
}

/**
 * An SSO sign-in refused with a contract code, plus the finer reason (`detail`, e.g.
 * `state_other_browser`, `email_not_verified`, `no_member`) that the audit row records.
 */
export class SsoRefusal extends ApiError {
  constructor(
    code: ErrorCode,
    readonly detail: string,
    message?: string,
    readonly who: RefusalSubject = {},
    details?: ErrorDetail[],
  ) {
    super(code, message, details);
  }
}
