import { Body, Controller, Get, Module, Post, Req } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsInt, IsOptional, IsString, MaxLength, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { Public } from '@app/common/auth';
import { clientIp, type HttpRequest } from '@app/common/http';

export class ProbeDto {
  @IsString()
  @MaxLength(50)
  name: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  count?: number;
}

/** Counts the calls that reached a handler, so tests can prove a refused request changed nothing. */
export const probeCalls = { echo: 0, forgotten: 0 };

/** Test-only routes that exercise the foundation's HTTP behaviour through the real pipeline. */
@Controller('probe')
export class ProbeController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Public()
  @Post('echo')
  echo(@Body() body: ProbeDto) {
    probeCalls.echo++;
    return { received: body };
  }

  @Public()
  @Get('ip')
  ip(@Req() req: HttpRequest) {
    return { ip: clientIp(req) };
  }

  @Public()
  @Get('boom')
  boom() {
    throw new Error('internal detail: SELECT password_hash FROM users');
  }

  @Public()
  @Get('db')
  async db() {
    const rows = await this.dataSource.query('SELECT count(*)::int AS n FROM retailers');
    return { retailers: rows[0].n };
  }

  // Deliberately no @Public() and no module auth decorator.
  @Get('forgotten')
  forgotten() {
    probeCalls.forgotten++;
    return { reached: true };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
