import type { Response } from 'supertest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The answer is the contract's error envelope with this status and code. */
export function expectError(res: Response, status: number, code: string): void {
  expect({ status: res.status, success: res.body?.success, code: res.body?.error?.code }).toEqual({ status, success: false, code });
}

/** The answer is a 200 without an error. */
export function expectWorks(res: Response): void {
  expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 200, code: undefined });
}

/**
 * Polls every 50 ms until the answer carries `code`, for at most `withinMs` after the call: the
 * contract's "revoked on every instance within 1 s".
 */
export async function expectCodeWithin(send: () => Promise<Response>, status: number, code: string, withinMs = 1000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let res = await send();
  while (res.body?.error?.code !== code && Date.now() < deadline) {
    await sleep(50);
    res = await send();
  }
  expectError(res, status, code);
}
