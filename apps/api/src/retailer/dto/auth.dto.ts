import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';

/** Emails are compared trimmed and case-insensitively; trimming happens before validation. */
const Trimmed = () => Transform(({ value }) => (typeof value === 'string' ? value.trim() : value));

// Passwords are checked against the policy (length in code points, 72 bytes, common list) by
// the service; the DTO only bounds the size so nothing huge reaches bcrypt.
const PASSWORD_MAX_CHARS = 1024;

export class RegisterDto {
  @ApiProperty({ example: 'owner@shop.example' })
  @Trimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;

  @ApiProperty({ minLength: 12, description: 'at least PASSWORD_MIN_LENGTH characters, at most 72 bytes, not a common password' })
  @IsString()
  @MaxLength(PASSWORD_MAX_CHARS)
  password: string;

  @ApiProperty({ example: 'Jane Doe' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: 'Acme Outdoor' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  retailerName: string;
}

export class LoginDto {
  @ApiProperty()
  @Trimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;

  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_CHARS)
  password: string;
}

export class RefreshDto {
  @ApiPropertyOptional({ description: 'Omit to use the refresh cookie (with X-CSRF-Token) or a live access token as Bearer' })
  @IsOptional()
  @IsString()
  // Generous on purpose: a wrong token (an access JWT sent by mistake) is 401 TOKEN_INVALID from
  // the service, not a validation error.
  @MaxLength(8192)
  refreshToken?: string;
}

export class ForgotPasswordDto {
  @ApiProperty()
  @Trimmed()
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;
}

export class ResetPasswordDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token: string;

  @ApiProperty()
  @IsString()
  @MaxLength(PASSWORD_MAX_CHARS)
  password: string;
}

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(PASSWORD_MAX_CHARS)
  currentPassword: string;

  @ApiProperty()
  @IsString()
  @MaxLength(PASSWORD_MAX_CHARS)
  newPassword: string;
}
