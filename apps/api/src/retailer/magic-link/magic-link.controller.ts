import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { Public } from '@app/common/auth';
import { requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { SessionCookies } from '../session-cookies';
import { MagicLinkService } from './magic-link.service';

export class MagicLinkRequestDto {
  @ApiProperty()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(320)
  email: string;
}

export class MagicLinkVerifyDto {
  @ApiProperty()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  token: string;
}

@ApiTags('auth')
@Controller('auth/magic-link')
export class MagicLinkController {
  constructor(
    private readonly links: MagicLinkService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post()
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'Email a single-use sign-in link (the same answer for unknown emails)' })
  async request(@Body() dto: MagicLinkRequestDto, @Req() req: HttpRequest) {
    await this.links.request(dto.email, requestContext(req));
    return { message: 'If an account exists for this email, a sign-in link is on its way.' };
  }

  @Post('verify')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with the link token (or get the MFA challenge)' })
  async verify(@Body() dto: MagicLinkVerifyDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    // The page that consumed the link must not leak it in a Referer header.
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    const outcome = await this.links.verify(dto.token, requestContext(req));
    return 'mfaRequired' in outcome ? outcome : this.cookies.signedIn(res, outcome);
  }
}
