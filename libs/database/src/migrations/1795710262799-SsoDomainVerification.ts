import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * JIT domains become claims proven by a DNS TXT record (docs/sso.md): the key is (retailer, domain)
 * so several retailers may hold pending claims, one at most a verified one (partial unique index).
 * Rows listed before this were never proven: they become pending, each with a token of its own.
 */
export class SsoDomainVerification1795710262799 implements MigrationInterface {
    name = 'SsoDomainVerification1795710262799'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // The new primary key starts with retailer_id, so this index is redundant.
        await queryRunner.query(`DROP INDEX "public"."idx_sso_domains_retailer"`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ADD "verification_token" character varying`);
        // gen_random_uuid() draws from the server's strong random source and, unlike pgcrypto's
        // gen_random_bytes(), is built into Postgres 13+ and PGlite: 64 hex digits, 244 random bits.
        await queryRunner.query(`UPDATE "sso_domains" SET "verification_token" = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ALTER COLUMN "verification_token" SET NOT NULL`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ADD "verified_at" TIMESTAMP WITH TIME ZONE`);
        await queryRunner.query(`ALTER TABLE "sso_domains" DROP CONSTRAINT "PK_586adb1f29cd99ed778c30fb1fd"`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ADD CONSTRAINT "PK_1fa25d9da902a5152d183410131" PRIMARY KEY ("retailer_id", "domain")`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_sso_domains_verified" ON "sso_domains"  ("domain") WHERE verified_at IS NOT NULL`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."uq_sso_domains_verified"`);
        // One claim per domain again: the verified one, else the oldest.
        await queryRunner.query(`DELETE FROM "sso_domains" WHERE ctid NOT IN (SELECT DISTINCT ON ("domain") ctid FROM "sso_domains" ORDER BY "domain", "verified_at" IS NULL, "created_at")`);
        await queryRunner.query(`ALTER TABLE "sso_domains" DROP CONSTRAINT "PK_1fa25d9da902a5152d183410131"`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ADD CONSTRAINT "PK_586adb1f29cd99ed778c30fb1fd" PRIMARY KEY ("domain")`);
        await queryRunner.query(`ALTER TABLE "sso_domains" DROP COLUMN "verified_at"`);
        await queryRunner.query(`ALTER TABLE "sso_domains" DROP COLUMN "verification_token"`);
        await queryRunner.query(`CREATE INDEX "idx_sso_domains_retailer" ON "sso_domains" USING btree ("retailer_id") `);
    }

}
