import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import bcryptjs from 'bcryptjs';
import { AppConfig, AppConfigModule, loadAppConfig } from '../config';
import { PasswordHasher } from './password-hasher.service';
import { PasswordsModule } from './passwords.module';

const PASSWORD = 'Correct-Horse-42-Battery';
const dirs: string[] = [];
const hashers: PasswordHasher[] = [];

function configWithCost(cost: number): AppConfig {
  const dir = mkdtempSync(join(tmpdir(), 'passwords-spec-'));
  dirs.push(dir);
  return loadAppConfig({ NODE_ENV: 'test', DATA_DIR: dir, BCRYPT_COST: String(cost) });
}

async function hasherWithCost(cost: number): Promise<PasswordHasher> {
  const hasher = new PasswordHasher(configWithCost(cost));
  hashers.push(hasher);
  await hasher.onModuleInit();
  return hasher;
}

/** A bcryptjs hash with the given minor version (`a` or `b`) and cost. */
function bcryptjsHash(pw: string, minor: 'a' | 'b', cost: number): string {
  const salt = bcryptjs.genSaltSync(cost).replace(/^\$2[ab]\$/, `$2${minor}$`);
  return bcryptjs.hashSync(pw, salt);
}

describe('PasswordHasher', () => {
  let hasher: PasswordHasher;

  beforeAll(async () => {
    hasher = await hasherWithCost(4);
  });

  afterAll(async () => {
    await Promise.all(hashers.map((h) => h.onModuleDestroy()));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('hashes at the configured cost (12)', async () => {
    const hasher12 = new PasswordHasher(configWithCost(12));
    hashers.push(hasher12);
    const hash = await hasher12.hash(PASSWORD);
    expect(hash).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}$/);
    expect(hasher12.costOf(hash)).toBe(12);
  });

  it('hashes at cost 4 when configured so, and verifies its own hashes', async () => {
    const hash = await hasher.hash(PASSWORD);
    expect(hash.startsWith('$2b$04$')).toBe(true);
    await expect(hasher.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(hasher.verify('wrong password', hash)).resolves.toBe(false);
  });

  it.each(['a', 'b'] as const)('verifies a bcryptjs $2%s$ hash', async (minor) => {
    const hash = bcryptjsHash('pässwörd-🔑-42', minor, 4);
    expect(hash.startsWith(`$2${minor}$04$`)).toBe(true);
    await expect(hasher.verify('pässwörd-🔑-42', hash)).resolves.toBe(true);
    await expect(hasher.verify('passwörd-🔑-42', hash)).resolves.toBe(false);
  });

  it('produces hashes bcryptjs verifies', async () => {
    const hash = await hasher.hash('pässwörd-🔑-42');
    expect(bcryptjs.compareSync('pässwörd-🔑-42', hash)).toBe(true);
    expect(bcryptjs.compareSync('passwörd-🔑-42', hash)).toBe(false);
  });

  it('verifies a $2y$ hash (same algorithm as $2b$) and wants it rehashed', async () => {
    const hash = bcryptjsHash(PASSWORD, 'b', 4).replace(/^\$2b\$/, '$2y$');
    await expect(hasher.verify(PASSWORD, hash)).resolves.toBe(true);
    await expect(hasher.verify('wrong password', hash)).resolves.toBe(false);
    expect(hasher.needsRehash(hash)).toBe(true);
  });

  it('returns false, never throws, for a malformed hash or a non-string password', async () => {
    const good = await hasher.hash(PASSWORD);
    const malformed: unknown[] = [
      '',
      'not a hash',
      good.slice(0, -1),
      `${good}x`,
      good.replace(/^\$2b\$/, '$2x$'),
      good.replace(/^\$2b\$04\$/, '$2b$4$'),
      undefined,
      null,
      42,
    ];
    for (const hash of malformed) {
      await expect(hasher.verify(PASSWORD, hash as string)).resolves.toBe(false);
    }
    await expect(hasher.verify(undefined as unknown as string, good)).resolves.toBe(false);
  });

  it('needsRehash: another cost or prefix, or a malformed hash', () => {
    const cost10 = bcryptjsHash(PASSWORD, 'b', 10);
    const cost4 = bcryptjsHash(PASSWORD, 'b', 4);
    expect(hasher.needsRehash(cost10)).toBe(true);
    expect(hasher.needsRehash(cost4)).toBe(false);
    expect(hasher.needsRehash(bcryptjsHash(PASSWORD, 'a', 4))).toBe(false);
    expect(hasher.needsRehash('garbage')).toBe(true);
  });

  it('costOf reads the cost of a well-formed hash only', () => {
    expect(hasher.costOf(bcryptjsHash(PASSWORD, 'b', 10))).toBe(10);
    expect(hasher.costOf(bcryptjsHash(PASSWORD, 'a', 5))).toBe(5);
    expect(hasher.costOf('$2b$10$short')).toBeUndefined();
    expect(hasher.costOf(undefined as unknown as string)).toBeUndefined();
  });

  it('verifyAgainstDummy resolves false and actually runs bcrypt', async () => {
    const hasher10 = await hasherWithCost(10);
    const started = process.hrtime.bigint();
    await expect(hasher10.verifyAgainstDummy(PASSWORD)).resolves.toBe(false);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeGreaterThan(1);
    await expect(hasher10.verifyAgainstDummy('')).resolves.toBe(false);
    await expect(hasher10.verifyAgainstDummy(undefined as unknown as string)).resolves.toBe(false);
  });

  it('is provided by PasswordsModule, with the dummy hash prepared at init', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [AppConfigModule.forRoot(configWithCost(4)), PasswordsModule],
    }).compile();
    await moduleRef.init();
    const provided = moduleRef.get(PasswordHasher);
    expect(provided).toBeInstanceOf(PasswordHasher);
    expect(provided.cost).toBe(4);
    await expect(provided.verifyAgainstDummy(PASSWORD)).resolves.toBe(false);
    await moduleRef.close();
  });
});
