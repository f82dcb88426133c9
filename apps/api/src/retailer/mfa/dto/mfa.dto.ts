import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

export const MFA_METHODS = ['totp', 'backup_code', 'email_otp'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];

const Trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

export class MfaVerifyDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  mfaToken: string;

  @ApiProperty({ enum: MFA_METHODS })
  @IsIn(MFA_METHODS)
  method: MfaMethod;

  @ApiProperty({ description: '6 digits for totp and email_otp; a backup code like ABCDE-FGHJK' })
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(32)
  code: string;
}

export class MfaTokenDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  mfaToken: string;
}

export class TotpCodeDto {
  @ApiProperty({ description: 'A current code of the authenticator app' })
  @Trimmed()
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
}

export class FactorCodeDto {
  @ApiProperty({ description: 'A current TOTP code, or a backup code' })
  @Trimmed()
  @IsString()
  @IsNotEmpty()
  @MaxLength(32)
  code: string;
}
