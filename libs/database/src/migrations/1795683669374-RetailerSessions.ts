import { MigrationInterface, QueryRunner } from "typeorm";

export class RetailerSessions1795683669374 implements MigrationInterface {
    name = 'RetailerSessions1795683669374'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "mail_outbox" ("id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "to_address" character varying(320) NOT NULL, "subject" character varying(300) NOT NULL, "sealed_body" text NOT NULL, "status" character varying(10) NOT NULL DEFAULT 'pending', "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_error" character varying(500), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "sent_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_fecc63c96385bc35a39ccf2a72e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_mail_outbox_due" ON "mail_outbox"  ("status", "next_attempt_at") `);
        await queryRunner.query(`CREATE TABLE "one_time_tokens" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "purpose" character varying(30) NOT NULL, "token_hash" character varying(64) NOT NULL, "user_id" uuid, "retailer_id" uuid, "email" character varying(320), "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "used_at" TIMESTAMP WITH TIME ZONE, "metadata" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_8e470cc9ffc1b2afa054304db17" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_one_time_tokens_hash" ON "one_time_tokens"  ("token_hash") `);
        await queryRunner.query(`CREATE INDEX "idx_one_time_tokens_user" ON "one_time_tokens"  ("user_id") `);
        await queryRunner.query(`CREATE TABLE "revoked_tokens" ("jti" character varying(64) NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "reason" character varying(40) NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_b18aa48269f87cafba8c6310624" PRIMARY KEY ("jti"))`);
        await queryRunner.query(`CREATE INDEX "idx_revoked_tokens_expires" ON "revoked_tokens"  ("expires_at") `);
        await queryRunner.query(`CREATE TABLE "sessions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" uuid NOT NULL, "retailer_id" uuid NOT NULL, "nonce" character varying(64) NOT NULL, "generation" integer NOT NULL DEFAULT '0', "current_hash" character varying(64) NOT NULL, "previous_hash" character varying(64), "rotated_at" TIMESTAMP WITH TIME ZONE, "access_jti" uuid NOT NULL, "access_issued_at" bigint NOT NULL, "auth_method" character varying(20) NOT NULL, "ip" character varying(64), "device" character varying(200), "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL, "refresh_expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "revoked_at" TIMESTAMP WITH TIME ZONE, "revoke_reason" character varying(40), CONSTRAINT "PK_3238ef96f18b355b671619111bc" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_sessions_retailer" ON "sessions"  ("retailer_id") `);
        await queryRunner.query(`CREATE INDEX "idx_sessions_revoked_at" ON "sessions"  ("revoked_at") `);
        await queryRunner.query(`CREATE INDEX "idx_sessions_user_live" ON "sessions"  ("user_id", "created_at") WHERE revoked_at IS NULL`);
        await queryRunner.query(`ALTER TABLE "sessions" ADD CONSTRAINT "FK_sessions_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
        // Counters of rate-limiter-flexible's Postgres store (used when no Redis is configured);
        // the layout is the library's own (RateLimiterPostgres._getCreateTableStmt).
        await queryRunner.query(`CREATE TABLE "rate_limits" ("key" character varying(255) PRIMARY KEY, "points" integer NOT NULL DEFAULT 0, "expire" bigint)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "rate_limits"`);
        await queryRunner.query(`ALTER TABLE "sessions" DROP CONSTRAINT "FK_sessions_user"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sessions_user_live"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sessions_revoked_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sessions_retailer"`);
        await queryRunner.query(`DROP TABLE "sessions"`);
        await queryRunner.query(`DROP INDEX "public"."idx_revoked_tokens_expires"`);
        await queryRunner.query(`DROP TABLE "revoked_tokens"`);
        await queryRunner.query(`DROP INDEX "public"."idx_one_time_tokens_user"`);
        await queryRunner.query(`DROP INDEX "public"."uq_one_time_tokens_hash"`);
        await queryRunner.query(`DROP TABLE "one_time_tokens"`);
        await queryRunner.query(`DROP INDEX "public"."idx_mail_outbox_due"`);
        await queryRunner.query(`DROP TABLE "mail_outbox"`);
    }

}
