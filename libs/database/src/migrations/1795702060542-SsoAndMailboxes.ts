import { MigrationInterface, QueryRunner } from "typeorm";

export class SsoAndMailboxes1795702060542 implements MigrationInterface {
    name = 'SsoAndMailboxes1795702060542'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sso_domains" ("domain" character varying(253) NOT NULL, "retailer_id" uuid NOT NULL, "jit_role" character varying(64) NOT NULL DEFAULT 'viewer', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_586adb1f29cd99ed778c30fb1fd" PRIMARY KEY ("domain"))`);
        await queryRunner.query(`CREATE INDEX "idx_sso_domains_retailer" ON "sso_domains"  ("retailer_id") `);
        await queryRunner.query(`ALTER TABLE "retailers" ADD "sso_trust_provider_mfa" boolean NOT NULL DEFAULT false`);
        await queryRunner.query(`ALTER TABLE "oauth_connections" ADD "token_cache" text`);
        await queryRunner.query(`ALTER TABLE "sso_domains" ADD CONSTRAINT "FK_sso_domains_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "sso_domains" DROP CONSTRAINT "FK_sso_domains_retailer"`);
        await queryRunner.query(`ALTER TABLE "oauth_connections" DROP COLUMN "token_cache"`);
        await queryRunner.query(`ALTER TABLE "retailers" DROP COLUMN "sso_trust_provider_mfa"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sso_domains_retailer"`);
        await queryRunner.query(`DROP TABLE "sso_domains"`);
    }

}
