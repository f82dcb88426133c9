import { generateSecret, generateURI, verify } from 'otplib';
import QRCode from 'qrcode';

/**
 * RFC 6238 TOTP through otplib: SHA-1, 6 digits, 30 s steps, one step of drift accepted either
 * side. Returns the time step a code belongs to, so the caller can refuse it a second time.
 */
export const totp = {
  newSecret(): string {
    return generateSecret();
  },

  uri(secret: string, issuer: string, account: string): string {
    return generateURI({ issuer, label: account, secret });
  },

  async qrDataUrl(uri: string): Promise<string> {
    return QRCode.toDataURL(uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
  },

  /** The time step of a valid code, or null. Never throws on malformed input. */
  async verify(secret: string, code: string): Promise<number | null> {
    if (!/^\d{6}$/.test(code)) return null;
    try {
      const result = await verify({ secret, token: code, epochTolerance: 30 });
      return result.valid ? Number((result as { timeStep: number }).timeStep) : null;
    } catch {
      return null;
    }
  },
};
