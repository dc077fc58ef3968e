CREATE TABLE "login_lockouts" (
	"phone" text NOT NULL,
	"role" "user_role" NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"window_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	CONSTRAINT "login_lockouts_phone_role_pk" PRIMARY KEY("phone","role"),
	CONSTRAINT "login_lockouts_failed_count_nonneg" CHECK ("login_lockouts"."failed_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "sms_daily_sends" (
	"scope" text NOT NULL,
	"day" date NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "sms_daily_sends_scope_day_pk" PRIMARY KEY("scope","day"),
	CONSTRAINT "sms_daily_sends_sent_nonneg" CHECK ("sms_daily_sends"."sent" >= 0)
);
--> statement-breakpoint
-- Blocks written before blocks were per role. An admin removal's row names the removed account's role
-- in its metadata and becomes a block of that role only (the other role's account is not the one that
-- was removed); any other role-less row meant "every role" and becomes one row per role.
INSERT INTO "blocked_identifiers" ("identifier_type", "value", "role", "reason", "blocked_by", "metadata", "created_at")
SELECT b."identifier_type", b."value", r."role", b."reason", b."blocked_by", b."metadata", b."created_at"
  FROM "blocked_identifiers" b
  CROSS JOIN LATERAL unnest(
    CASE WHEN b."metadata"->>'role' IN ('user', 'provider', 'admin') THEN ARRAY[(b."metadata"->>'role')::"user_role"]
         ELSE enum_range(NULL::"user_role") END
  ) AS r("role")
 WHERE b."role" IS NULL
ON CONFLICT DO NOTHING;--> statement-breakpoint
DELETE FROM "blocked_identifiers" WHERE "role" IS NULL;--> statement-breakpoint
ALTER TABLE "blocked_identifiers" DROP CONSTRAINT "blocked_identifiers_uq";--> statement-breakpoint
ALTER TABLE "blocked_identifiers" ALTER COLUMN "role" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "blocked_identifiers" ADD CONSTRAINT "blocked_identifiers_uq" UNIQUE("identifier_type","value","role");