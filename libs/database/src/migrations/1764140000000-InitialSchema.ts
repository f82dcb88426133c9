import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764140000000 implements MigrationInterface {
  name = 'InitialSchema1764140000000';

  async up(q: QueryRunner): Promise<void> {
    // gen_random_uuid() is built into Postgres 13+ (and PGlite): no extension needed.
    await q.query(`
      CREATE TABLE "retailers" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" character varying(200) NOT NULL,
        "status" character varying(20) NOT NULL DEFAULT 'active',
        "suspended_at" TIMESTAMP WITH TIME ZONE,
        "ip_allowlist_enabled" boolean NOT NULL DEFAULT false,
        "ip_allowlist" text array NOT NULL DEFAULT '{}',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_retailers" PRIMARY KEY ("id")
      )`);
    await q.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "retailer_id" uuid NOT NULL,
        "email" character varying(320) NOT NULL,
        "name" character varying(200) NOT NULL,
        "password_hash" character varying(100),
        "role" character varying(64) NOT NULL DEFAULT 'owner',
        "dashboards" text array NOT NULL DEFAULT '{}',
        "status" character varying(20) NOT NULL DEFAULT 'active',
        "email_verified_at" TIMESTAMP WITH TIME ZONE,
        "last_login_at" TIMESTAMP WITH TIME ZONE,
        "password_changed_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_users" PRIMARY KEY ("id"),
        CONSTRAINT "FK_users_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_users_retailer" ON "users" ("retailer_id")`);
    await q.query(`CREATE UNIQUE INDEX "uq_users_email" ON "users" ("email")`);
    await q.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "retailer_id" uuid NOT NULL,
        "name" character varying(200) NOT NULL,
        "type" character varying(20) NOT NULL,
        "prefix" character varying(64) NOT NULL,
        "key_hash" character varying(128) NOT NULL,
        "scopes" text array NOT NULL DEFAULT '{}',
        "allowed_ips" text array NOT NULL DEFAULT '{}',
        "expires_at" TIMESTAMP WITH TIME ZONE,
        "last_used_at" TIMESTAMP WITH TIME ZONE,
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        "replaced_by_id" uuid,
        "grace_until" TIMESTAMP WITH TIME ZONE,
        "created_by_user_id" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_api_keys" PRIMARY KEY ("id"),
        CONSTRAINT "FK_api_keys_retailer" FOREIGN KEY ("retailer_id") REFERENCES "retailers"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "idx_api_keys_retailer" ON "api_keys" ("retailer_id")`);
    await q.query(`CREATE UNIQUE INDEX "uq_api_keys_prefix" ON "api_keys" ("prefix")`);
    await q.query(`
      CREATE TABLE "audit_logs" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "event" character varying(64) NOT NULL,
        "actor_type" character varying(20) NOT NULL,
        "actor_id" character varying(64),
        "retailer_id" uuid,
        "impersonator_id" character varying(64),
        "ip" character varying(64),
        "device" character varying(200),
        "status" character varying(16) NOT NULL,
        "reason" character varying(200),
        "metadata" jsonb NOT NULL DEFAULT '{}',
        "request_id" character varying(64),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_audit_logs" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "idx_audit_logs_retailer_id" ON "audit_logs" ("retailer_id", "id")`);
    await q.query(`CREATE INDEX "idx_audit_logs_event" ON "audit_logs" ("event", "id")`);
    // Append-only, enforced by the database itself: no code path (ours or an operator's
    // ad-hoc UPDATE) can rewrite or erase history without first dropping this trigger.
    await q.query(`
      CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON "audit_logs"
      FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change()`);
    await q.query(`
      CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON "audit_logs"
      FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_logs_no_truncate ON "audit_logs"`);
    await q.query(`DROP TRIGGER IF EXISTS audit_logs_append_only ON "audit_logs"`);
    await q.query(`DROP FUNCTION IF EXISTS audit_logs_refuse_change()`);
    await q.query(`DROP TABLE "audit_logs"`);
    await q.query(`DROP TABLE "api_keys"`);
    await q.query(`DROP TABLE "users"`);
    await q.query(`DROP TABLE "retailers"`);
  }
}
