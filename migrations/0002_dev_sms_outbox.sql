CREATE TABLE "dev_sms_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"phone" text NOT NULL,
	"role" "user_role",
	"purpose" "otp_purpose",
	"code" text,
	"body" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "dev_sms_outbox_phone_created_idx" ON "dev_sms_outbox" USING btree ("phone","created_at" DESC NULLS LAST);