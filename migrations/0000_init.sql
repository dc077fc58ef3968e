CREATE TYPE "public"."address_type" AS ENUM('home', 'office', 'other');--> statement-breakpoint
CREATE TYPE "public"."identifier_type" AS ENUM('phone', 'email');--> statement-breakpoint
CREATE TYPE "public"."login_outcome" AS ENUM('success', 'failed', 'blocked');--> statement-breakpoint
CREATE TYPE "public"."otp_purpose" AS ENUM('signup', 'login', 'password_reset');--> statement-breakpoint
CREATE TYPE "public"."security_severity" AS ENUM('info', 'warning', 'critical');--> statement-breakpoint
CREATE TYPE "public"."booking_status" AS ENUM('pending', 'accepted', 'rejected', 'cancelled', 'completed');--> statement-breakpoint
CREATE TYPE "public"."call_log_status" AS ENUM('completed', 'failed', 'missed', 'rejected');--> statement-breakpoint
CREATE TYPE "public"."call_party_role" AS ENUM('user', 'provider');--> statement-breakpoint
CREATE TYPE "public"."call_status" AS ENUM('ringing', 'active', 'ended', 'rejected', 'missed', 'failed');--> statement-breakpoint
CREATE TYPE "public"."rating_direction" AS ENUM('customer_to_provider', 'provider_to_customer');--> statement-breakpoint
CREATE TYPE "public"."report_status" AS ENUM('open', 'resolved', 'closed');--> statement-breakpoint
CREATE TYPE "public"."push_delivery_status" AS ENUM('queued', 'sent', 'delivered', 'failed');--> statement-breakpoint
CREATE TYPE "public"."reminder_kind" AS ENUM('booking_day_before', 'booking_two_hours_before', 'morning_summary', 'listing_expiry_warning', 'labour_expiry_warning');--> statement-breakpoint
CREATE TYPE "public"."payment_attempt_status" AS ENUM('initiated', 'pending', 'success', 'failure', 'unknown');--> statement-breakpoint
CREATE TYPE "public"."payment_purpose" AS ENUM('listing_fee', 'labour_access');--> statement-breakpoint
CREATE TYPE "public"."payment_security_event_kind" AS ENUM('forged_checksum', 'amount_mismatch', 'replay', 'mid_mismatch', 'order_mismatch', 'unknown_order', 'ownership_mismatch', 'high_risk', 'rate_limited');--> statement-breakpoint
CREATE TYPE "public"."payment_status" AS ENUM('created', 'pending', 'paid', 'failed', 'expired');--> statement-breakpoint
CREATE TYPE "public"."listing_status" AS ENUM('pending', 'active', 'expired', 'deleted');--> statement-breakpoint
CREATE TYPE "public"."refund_status" AS ENUM('pending', 'processing', 'completed', 'failed', 'needs_attention');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('user', 'provider', 'admin');--> statement-breakpoint
CREATE TABLE "addresses" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"type" "address_type" DEFAULT 'home' NOT NULL,
	"state" text,
	"city" text,
	"full_address" text,
	"pincode" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "blocked_identifiers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"identifier_type" "identifier_type" NOT NULL,
	"value" text NOT NULL,
	"role" "user_role",
	"reason" text NOT NULL,
	"blocked_by" uuid,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocked_identifiers_uq" UNIQUE NULLS NOT DISTINCT("identifier_type","value","role")
);
--> statement-breakpoint
CREATE TABLE "login_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"phone" text NOT NULL,
	"role" "user_role",
	"ip" text,
	"user_id" uuid,
	"outcome" "login_outcome" NOT NULL,
	"failure_reason" text,
	"user_agent" text,
	"attempted_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "otp_challenges" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"phone" text NOT NULL,
	"role" "user_role" NOT NULL,
	"purpose" "otp_purpose" NOT NULL,
	"code_hash" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"send_count" integer DEFAULT 1 NOT NULL,
	"last_sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"verified_at" timestamp with time zone,
	"reset_token_hash" text,
	"consumed_at" timestamp with time zone,
	"payload" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "otp_challenges_reset_token_uq" UNIQUE("reset_token_hash"),
	CONSTRAINT "otp_challenges_attempts_nonneg" CHECK ("otp_challenges"."attempts" >= 0 and "otp_challenges"."send_count" >= 1),
	CONSTRAINT "otp_challenges_phone_format" CHECK ("otp_challenges"."phone" ~ '^[0-9]{10}$')
);
--> statement-breakpoint
CREATE TABLE "otp_lockouts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"phone" text NOT NULL,
	"role" "user_role" NOT NULL,
	"purpose" "otp_purpose" NOT NULL,
	"failed_count" integer DEFAULT 0 NOT NULL,
	"window_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "otp_lockouts_subject_uq" UNIQUE("phone","role","purpose"),
	CONSTRAINT "otp_lockouts_failed_count_nonneg" CHECK ("otp_lockouts"."failed_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "refresh_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"session_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"family_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"parent_id" uuid,
	"replaced_by_id" uuid,
	"access_jti" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"rotated_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"revoke_reason" text,
	CONSTRAINT "refresh_tokens_token_hash_uq" UNIQUE("token_hash"),
	CONSTRAINT "refresh_tokens_expiry_after_creation" CHECK ("refresh_tokens"."expires_at" > "refresh_tokens"."created_at"),
	CONSTRAINT "refresh_tokens_successor_when_rotated" CHECK ("refresh_tokens"."replaced_by_id" is null or "refresh_tokens"."rotated_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "security_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid,
	"event_type" text NOT NULL,
	"severity" "security_severity" DEFAULT 'info' NOT NULL,
	"ip" text,
	"user_agent" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoke_reason" text,
	"user_agent" text,
	"ip" text,
	"device_name" text,
	CONSTRAINT "sessions_reason_only_if_revoked" CHECK ("sessions"."revoke_reason" is null or "sessions"."revoked_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "bookings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"customer_id" uuid NOT NULL,
	"provider_service_id" uuid NOT NULL,
	"provider_id" uuid NOT NULL,
	"selected_sub_services" jsonb NOT NULL,
	"total_price_paise" integer NOT NULL,
	"appointment_at" timestamp with time zone NOT NULL,
	"appointment_date" date NOT NULL,
	"appointment_time" text NOT NULL,
	"address" text,
	"description" text,
	"status" "booking_status" DEFAULT 'pending' NOT NULL,
	"rejection_reason" text,
	"cancellation_reason" text,
	"viewed_by_customer" boolean DEFAULT true NOT NULL,
	"viewed_by_provider" boolean DEFAULT false NOT NULL,
	"idempotency_key" text,
	"accepted_at" timestamp with time zone,
	"rejected_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "bookings_customer_idempotency_key_uq" UNIQUE("customer_id","idempotency_key"),
	CONSTRAINT "bookings_total_price_positive" CHECK ("bookings"."total_price_paise" > 0),
	CONSTRAINT "bookings_sub_services_nonempty_array" CHECK (jsonb_typeof("bookings"."selected_sub_services") = 'array' and jsonb_array_length("bookings"."selected_sub_services") > 0),
	CONSTRAINT "bookings_idempotency_key_length" CHECK ("bookings"."idempotency_key" is null or length("bookings"."idempotency_key") between 1 and 255),
	CONSTRAINT "bookings_completed_has_time" CHECK ("bookings"."status" <> 'completed' or "bookings"."completed_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "call_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"call_session_id" uuid,
	"call_log_id" uuid,
	"actor_id" uuid,
	"event_type" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_events_has_subject" CHECK ("call_events"."call_session_id" is not null or "call_events"."call_log_id" is not null)
);
--> statement-breakpoint
CREATE TABLE "call_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"booking_id" uuid NOT NULL,
	"call_session_id" uuid,
	"logged_by" uuid NOT NULL,
	"caller_role" "call_party_role" NOT NULL,
	"status" "call_log_status" DEFAULT 'completed' NOT NULL,
	"duration_seconds" integer DEFAULT 0 NOT NULL,
	"connection_quality" jsonb,
	"error_details" jsonb,
	"end_reason" text,
	"metrics" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_logs_duration_range" CHECK ("call_logs"."duration_seconds" between 0 and 86400)
);
--> statement-breakpoint
CREATE TABLE "call_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"booking_id" uuid NOT NULL,
	"caller_id" uuid NOT NULL,
	"receiver_id" uuid NOT NULL,
	"caller_role" "call_party_role" NOT NULL,
	"status" "call_status" DEFAULT 'ringing' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"answered_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"ended_by" uuid,
	"end_reason" text,
	"duration_seconds" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "call_sessions_distinct_parties" CHECK ("call_sessions"."caller_id" <> "call_sessions"."receiver_id"),
	CONSTRAINT "call_sessions_duration_nonneg" CHECK ("call_sessions"."duration_seconds" is null or "call_sessions"."duration_seconds" >= 0),
	CONSTRAINT "call_sessions_ended_has_time" CHECK ("call_sessions"."status" in ('ringing', 'active') or "call_sessions"."ended_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "services_master" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"category" text,
	"is_paid" boolean DEFAULT true NOT NULL,
	"listing_fee_paise" integer DEFAULT 9900 NOT NULL,
	"listing_validity_days" integer DEFAULT 30 NOT NULL,
	"currency" char(3) DEFAULT 'INR' NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "services_master_name_uq" UNIQUE("name"),
	CONSTRAINT "services_master_slug_format" CHECK ("services_master"."name" ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
	CONSTRAINT "services_master_fee_matches_is_paid" CHECK (("services_master"."is_paid" and "services_master"."listing_fee_paise" > 0) or (not "services_master"."is_paid" and "services_master"."listing_fee_paise" = 0)),
	CONSTRAINT "services_master_validity_positive" CHECK ("services_master"."listing_validity_days" > 0),
	CONSTRAINT "services_master_currency_inr" CHECK ("services_master"."currency" = 'INR')
);
--> statement-breakpoint
CREATE TABLE "sub_services" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"default_price_paise" integer,
	"is_active" boolean DEFAULT true NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sub_services_service_slug_uq" UNIQUE("service_id","slug"),
	CONSTRAINT "sub_services_id_service_uq" UNIQUE("id","service_id"),
	CONSTRAINT "sub_services_slug_format" CHECK ("sub_services"."slug" ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
	CONSTRAINT "sub_services_default_price_positive" CHECK ("sub_services"."default_price_paise" is null or "sub_services"."default_price_paise" > 0)
);
--> statement-breakpoint
CREATE TABLE "provider_reports_users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider_id" uuid NOT NULL,
	"customer_name" text NOT NULL,
	"customer_user_id" uuid,
	"booking_id" uuid,
	"incident_date" date NOT NULL,
	"incident_time" time,
	"incident_type" text NOT NULL,
	"description" text NOT NULL,
	"evidence" text[] DEFAULT '{}'::text[] NOT NULL,
	"status" "report_status" DEFAULT 'open' NOT NULL,
	"resolved_by" uuid,
	"resolved_at" timestamp with time zone,
	"admin_note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ratings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"booking_id" uuid NOT NULL,
	"direction" "rating_direction" NOT NULL,
	"rater_id" uuid NOT NULL,
	"ratee_id" uuid NOT NULL,
	"rating" smallint NOT NULL,
	"review" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ratings_booking_direction_uq" UNIQUE("booking_id","direction"),
	CONSTRAINT "ratings_rating_range" CHECK ("ratings"."rating" between 1 and 5),
	CONSTRAINT "ratings_review_length" CHECK ("ratings"."review" is null or length("ratings"."review") <= 500),
	CONSTRAINT "ratings_not_self" CHECK ("ratings"."rater_id" <> "ratings"."ratee_id")
);
--> statement-breakpoint
CREATE TABLE "user_reports_providers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"reporter_id" uuid NOT NULL,
	"reported_provider_id" uuid NOT NULL,
	"booking_id" uuid,
	"incident_date" date NOT NULL,
	"incident_time" time,
	"incident_type" text NOT NULL,
	"description" text NOT NULL,
	"evidence" text[] DEFAULT '{}'::text[] NOT NULL,
	"status" "report_status" DEFAULT 'open' NOT NULL,
	"resolved_by" uuid,
	"resolved_at" timestamp with time zone,
	"admin_note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_reports_providers_booking_uq" UNIQUE("booking_id")
);
--> statement-breakpoint
CREATE TABLE "labour_access" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "labour_access_order_uq" UNIQUE("order_id"),
	CONSTRAINT "labour_access_window_order" CHECK ("labour_access"."expires_at" > "labour_access"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "notification_settings" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"booking_updates" boolean DEFAULT true NOT NULL,
	"reminders" boolean DEFAULT true NOT NULL,
	"promotional" boolean DEFAULT false NOT NULL,
	"sound_enabled" boolean DEFAULT true NOT NULL,
	"vibration_enabled" boolean DEFAULT true NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"title" text NOT NULL,
	"message" text NOT NULL,
	"type" text DEFAULT 'system' NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"dedup_key" text,
	"read_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notifications_dedup_key_uq" UNIQUE("dedup_key")
);
--> statement-breakpoint
CREATE TABLE "push_deliveries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"push_token_id" uuid,
	"notification_id" uuid,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" "push_delivery_status" DEFAULT 'queued' NOT NULL,
	"ticket_id" text,
	"error_code" text,
	"error_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"receipt_checked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "push_deliveries_ticket_uq" UNIQUE("ticket_id")
);
--> statement-breakpoint
CREATE TABLE "push_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"token" text NOT NULL,
	"device_info" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"deactivated_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "push_tokens_token_uq" UNIQUE("token")
);
--> statement-breakpoint
CREATE TABLE "sent_reminders" (
	"kind" "reminder_kind" NOT NULL,
	"subject_id" uuid NOT NULL,
	"period" text DEFAULT '' NOT NULL,
	"user_id" uuid,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sent_reminders_pk" PRIMARY KEY("kind","subject_id","period")
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"topic" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"key" text NOT NULL,
	"request_method" text NOT NULL,
	"request_path" text NOT NULL,
	"request_hash" text NOT NULL,
	"locked_at" timestamp with time zone,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone DEFAULT now() + interval '24 hours' NOT NULL,
	CONSTRAINT "idempotency_keys_user_key_uq" UNIQUE("user_id","key"),
	CONSTRAINT "idempotency_keys_key_length" CHECK (length("idempotency_keys"."key") between 1 and 255)
);
--> statement-breakpoint
CREATE TABLE "payment_api_logs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid,
	"refund_id" uuid,
	"endpoint" text NOT NULL,
	"method" text DEFAULT 'POST' NOT NULL,
	"request_body" jsonb,
	"response_status" integer,
	"response_body" jsonb,
	"latency_ms" integer,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_attempts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid NOT NULL,
	"attempt_no" integer NOT NULL,
	"status" "payment_attempt_status" DEFAULT 'initiated' NOT NULL,
	"txn_token" text,
	"gateway_txn_id" text,
	"reported_amount_paise" integer,
	"result_code" text,
	"result_msg" text,
	"raw_response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "payment_attempts_order_attempt_no_uq" UNIQUE("order_id","attempt_no"),
	CONSTRAINT "payment_attempts_attempt_no_positive" CHECK ("payment_attempts"."attempt_no" >= 1),
	CONSTRAINT "payment_attempts_success_has_txn" CHECK ("payment_attempts"."status" <> 'success' or "payment_attempts"."gateway_txn_id" is not null)
);
--> statement-breakpoint
CREATE TABLE "payment_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid,
	"refund_id" uuid,
	"source" text NOT NULL,
	"event_type" text NOT NULL,
	"dedup_key" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payment_events_dedup_key_uq" UNIQUE("dedup_key")
);
--> statement-breakpoint
CREATE TABLE "payment_orders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"paytm_order_id" text NOT NULL,
	"user_id" uuid NOT NULL,
	"purpose" "payment_purpose" NOT NULL,
	"provider_service_id" uuid,
	"amount_paise" integer NOT NULL,
	"currency" char(3) DEFAULT 'INR' NOT NULL,
	"validity_days" integer NOT NULL,
	"status" "payment_status" DEFAULT 'created' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"gateway_txn_id" text,
	"bank_txn_id" text,
	"payment_mode" text,
	"gateway_result_code" text,
	"gateway_result_msg" text,
	"paid_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"activated_at" timestamp with time zone,
	"granted_from" timestamp with time zone,
	"granted_until" timestamp with time zone,
	"refunded_amount_paise" integer DEFAULT 0 NOT NULL,
	"refunds_open_paise" integer DEFAULT 0 NOT NULL,
	"client_info" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_checked_at" timestamp with time zone,
	"next_check_at" timestamp with time zone,
	"check_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payment_orders_paytm_order_id_uq" UNIQUE("paytm_order_id"),
	CONSTRAINT "payment_orders_gateway_txn_id_uq" UNIQUE("gateway_txn_id"),
	CONSTRAINT "payment_orders_paytm_order_id_format" CHECK ("payment_orders"."paytm_order_id" ~ '^[A-Za-z0-9_@.-]{1,50}$'),
	CONSTRAINT "payment_orders_amount_positive" CHECK ("payment_orders"."amount_paise" > 0),
	CONSTRAINT "payment_orders_currency_inr" CHECK ("payment_orders"."currency" = 'INR'),
	CONSTRAINT "payment_orders_validity_positive" CHECK ("payment_orders"."validity_days" > 0),
	CONSTRAINT "payment_orders_listing_iff_listing_fee" CHECK (("payment_orders"."purpose" = 'listing_fee') = ("payment_orders"."provider_service_id" is not null)),
	CONSTRAINT "payment_orders_paid_has_txn" CHECK ("payment_orders"."status" <> 'paid' or ("payment_orders"."paid_at" is not null and "payment_orders"."gateway_txn_id" is not null)),
	CONSTRAINT "payment_orders_activated_only_if_paid" CHECK ("payment_orders"."activated_at" is null or "payment_orders"."status" = 'paid'),
	CONSTRAINT "payment_orders_granted_window" CHECK (("payment_orders"."granted_from" is null) = ("payment_orders"."granted_until" is null) and ("payment_orders"."granted_until" is null or "payment_orders"."granted_until" > "payment_orders"."granted_from")),
	CONSTRAINT "payment_orders_refunds_within_amount" CHECK ("payment_orders"."refunded_amount_paise" >= 0 and "payment_orders"."refunds_open_paise" >= 0 and "payment_orders"."refunded_amount_paise" + "payment_orders"."refunds_open_paise" <= "payment_orders"."amount_paise"),
	CONSTRAINT "payment_orders_refunds_only_if_paid" CHECK ("payment_orders"."refunded_amount_paise" + "payment_orders"."refunds_open_paise" = 0 or "payment_orders"."status" = 'paid')
);
--> statement-breakpoint
CREATE TABLE "payment_security_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" "payment_security_event_kind" NOT NULL,
	"order_id" uuid,
	"paytm_order_id" text,
	"user_id" uuid,
	"ip" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_profiles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"years_of_experience" integer DEFAULT 0 NOT NULL,
	"is_engineering_provider" boolean DEFAULT false NOT NULL,
	"engineering_certificate_url" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_profiles_user_uq" UNIQUE("user_id"),
	CONSTRAINT "provider_profiles_experience_range" CHECK ("provider_profiles"."years_of_experience" between 0 and 80)
);
--> statement-breakpoint
CREATE TABLE "provider_services" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider_id" uuid NOT NULL,
	"service_id" uuid NOT NULL,
	"status" "listing_status" DEFAULT 'pending' NOT NULL,
	"service_description" text DEFAULT '' NOT NULL,
	"working_proof_urls" text[] DEFAULT '{}'::text[] NOT NULL,
	"activated_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"expiry_warning_sent_for" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "provider_services_id_provider_uq" UNIQUE("id","provider_id"),
	CONSTRAINT "provider_services_id_service_uq" UNIQUE("id","service_id"),
	CONSTRAINT "provider_services_deleted_at_matches_status" CHECK (("provider_services"."status" = 'deleted') = ("provider_services"."deleted_at" is not null)),
	CONSTRAINT "provider_services_active_has_window" CHECK ("provider_services"."status" <> 'active' or ("provider_services"."activated_at" is not null and "provider_services"."expires_at" is not null)),
	CONSTRAINT "provider_services_window_order" CHECK ("provider_services"."expires_at" is null or "provider_services"."activated_at" is null or "provider_services"."expires_at" > "provider_services"."activated_at")
);
--> statement-breakpoint
CREATE TABLE "provider_sub_services" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"provider_service_id" uuid NOT NULL,
	"service_id" uuid NOT NULL,
	"sub_service_id" uuid NOT NULL,
	"price_paise" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_sub_services_listing_sub_service_uq" UNIQUE("provider_service_id","sub_service_id"),
	CONSTRAINT "provider_sub_services_price_positive" CHECK ("provider_sub_services"."price_paise" > 0)
);
--> statement-breakpoint
CREATE TABLE "refunds" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"order_id" uuid NOT NULL,
	"ref_id" text NOT NULL,
	"amount_paise" integer NOT NULL,
	"reason" text NOT NULL,
	"status" "refund_status" DEFAULT 'pending' NOT NULL,
	"paytm_refund_id" text,
	"requested_by" uuid,
	"initiated_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"failure_reason" text,
	"result_code" text,
	"result_msg" text,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"last_checked_at" timestamp with time zone,
	"next_check_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "refunds_ref_id_uq" UNIQUE("ref_id"),
	CONSTRAINT "refunds_paytm_refund_id_uq" UNIQUE("paytm_refund_id"),
	CONSTRAINT "refunds_amount_positive" CHECK ("refunds"."amount_paise" > 0),
	CONSTRAINT "refunds_reason_present" CHECK (length(btrim("refunds"."reason")) > 0),
	CONSTRAINT "refunds_ref_id_format" CHECK ("refunds"."ref_id" ~ '^[A-Za-z0-9_@.-]{1,50}$'),
	CONSTRAINT "refunds_attempt_count_nonneg" CHECK ("refunds"."attempt_count" >= 0),
	CONSTRAINT "refunds_completed_has_time" CHECK ("refunds"."status" <> 'completed' or "refunds"."completed_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"role" "user_role" DEFAULT 'user' NOT NULL,
	"phone" text NOT NULL,
	"email" text,
	"password_hash" text NOT NULL,
	"full_name" text NOT NULL,
	"profile_pic_url" text DEFAULT '' NOT NULL,
	"name_change_count" integer DEFAULT 0 NOT NULL,
	"is_verified" boolean DEFAULT false NOT NULL,
	"last_login_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "users_phone_format" CHECK ("users"."phone" ~ '^[0-9]{10}$'),
	CONSTRAINT "users_email_normalised" CHECK ("users"."email" is null or ("users"."email" = lower(btrim("users"."email")) and "users"."email" like '%_@_%')),
	CONSTRAINT "users_full_name_present" CHECK (length(btrim("users"."full_name")) > 0),
	CONSTRAINT "users_name_change_count_nonneg" CHECK ("users"."name_change_count" >= 0)
);
--> statement-breakpoint
ALTER TABLE "addresses" ADD CONSTRAINT "addresses_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "blocked_identifiers" ADD CONSTRAINT "blocked_identifiers_blocked_by_users_id_fk" FOREIGN KEY ("blocked_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "login_attempts" ADD CONSTRAINT "login_attempts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_parent_id_refresh_tokens_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."refresh_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_replaced_by_id_refresh_tokens_id_fk" FOREIGN KEY ("replaced_by_id") REFERENCES "public"."refresh_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "security_events" ADD CONSTRAINT "security_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_customer_id_users_id_fk" FOREIGN KEY ("customer_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_provider_id_provider_profiles_id_fk" FOREIGN KEY ("provider_id") REFERENCES "public"."provider_profiles"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_listing_of_provider_fk" FOREIGN KEY ("provider_service_id","provider_id") REFERENCES "public"."provider_services"("id","provider_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_call_session_id_call_sessions_id_fk" FOREIGN KEY ("call_session_id") REFERENCES "public"."call_sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_call_log_id_call_logs_id_fk" FOREIGN KEY ("call_log_id") REFERENCES "public"."call_logs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_events" ADD CONSTRAINT "call_events_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_logs" ADD CONSTRAINT "call_logs_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_logs" ADD CONSTRAINT "call_logs_call_session_id_call_sessions_id_fk" FOREIGN KEY ("call_session_id") REFERENCES "public"."call_sessions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_logs" ADD CONSTRAINT "call_logs_logged_by_users_id_fk" FOREIGN KEY ("logged_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_sessions" ADD CONSTRAINT "call_sessions_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_sessions" ADD CONSTRAINT "call_sessions_caller_id_users_id_fk" FOREIGN KEY ("caller_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_sessions" ADD CONSTRAINT "call_sessions_receiver_id_users_id_fk" FOREIGN KEY ("receiver_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "call_sessions" ADD CONSTRAINT "call_sessions_ended_by_users_id_fk" FOREIGN KEY ("ended_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sub_services" ADD CONSTRAINT "sub_services_service_id_services_master_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services_master"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_reports_users" ADD CONSTRAINT "provider_reports_users_provider_id_users_id_fk" FOREIGN KEY ("provider_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_reports_users" ADD CONSTRAINT "provider_reports_users_customer_user_id_users_id_fk" FOREIGN KEY ("customer_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_reports_users" ADD CONSTRAINT "provider_reports_users_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_reports_users" ADD CONSTRAINT "provider_reports_users_resolved_by_users_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_rater_id_users_id_fk" FOREIGN KEY ("rater_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ratings" ADD CONSTRAINT "ratings_ratee_id_users_id_fk" FOREIGN KEY ("ratee_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_reports_providers" ADD CONSTRAINT "user_reports_providers_reporter_id_users_id_fk" FOREIGN KEY ("reporter_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_reports_providers" ADD CONSTRAINT "user_reports_providers_reported_provider_id_users_id_fk" FOREIGN KEY ("reported_provider_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_reports_providers" ADD CONSTRAINT "user_reports_providers_booking_id_bookings_id_fk" FOREIGN KEY ("booking_id") REFERENCES "public"."bookings"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_reports_providers" ADD CONSTRAINT "user_reports_providers_resolved_by_users_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "labour_access" ADD CONSTRAINT "labour_access_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "labour_access" ADD CONSTRAINT "labour_access_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_settings" ADD CONSTRAINT "notification_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_deliveries" ADD CONSTRAINT "push_deliveries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_deliveries" ADD CONSTRAINT "push_deliveries_push_token_id_push_tokens_id_fk" FOREIGN KEY ("push_token_id") REFERENCES "public"."push_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_deliveries" ADD CONSTRAINT "push_deliveries_notification_id_notifications_id_fk" FOREIGN KEY ("notification_id") REFERENCES "public"."notifications"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "push_tokens" ADD CONSTRAINT "push_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sent_reminders" ADD CONSTRAINT "sent_reminders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_api_logs" ADD CONSTRAINT "payment_api_logs_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_attempts" ADD CONSTRAINT "payment_attempts_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_events" ADD CONSTRAINT "payment_events_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_orders" ADD CONSTRAINT "payment_orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_orders" ADD CONSTRAINT "payment_orders_provider_service_id_provider_services_id_fk" FOREIGN KEY ("provider_service_id") REFERENCES "public"."provider_services"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_security_events" ADD CONSTRAINT "payment_security_events_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_security_events" ADD CONSTRAINT "payment_security_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_profiles" ADD CONSTRAINT "provider_profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_services" ADD CONSTRAINT "provider_services_provider_id_provider_profiles_id_fk" FOREIGN KEY ("provider_id") REFERENCES "public"."provider_profiles"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_services" ADD CONSTRAINT "provider_services_service_id_services_master_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."services_master"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_sub_services" ADD CONSTRAINT "provider_sub_services_listing_fk" FOREIGN KEY ("provider_service_id","service_id") REFERENCES "public"."provider_services"("id","service_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_sub_services" ADD CONSTRAINT "provider_sub_services_sub_service_fk" FOREIGN KEY ("sub_service_id","service_id") REFERENCES "public"."sub_services"("id","service_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_order_id_payment_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."payment_orders"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "addresses_one_home_per_user_uq" ON "addresses" USING btree ("user_id") WHERE "addresses"."type" = 'home';--> statement-breakpoint
CREATE INDEX "addresses_user_idx" ON "addresses" USING btree ("user_id","type");--> statement-breakpoint
CREATE INDEX "login_attempts_phone_failed_idx" ON "login_attempts" USING btree ("phone","role","attempted_at" DESC NULLS LAST) WHERE "login_attempts"."outcome" = 'failed';--> statement-breakpoint
CREATE INDEX "login_attempts_ip_failed_idx" ON "login_attempts" USING btree ("ip","attempted_at" DESC NULLS LAST) WHERE "login_attempts"."outcome" = 'failed';--> statement-breakpoint
CREATE INDEX "login_attempts_attempted_idx" ON "login_attempts" USING btree ("attempted_at");--> statement-breakpoint
CREATE UNIQUE INDEX "otp_challenges_open_uq" ON "otp_challenges" USING btree ("phone","role","purpose") WHERE "otp_challenges"."consumed_at" is null;--> statement-breakpoint
CREATE INDEX "otp_challenges_expires_idx" ON "otp_challenges" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "refresh_tokens_one_child_uq" ON "refresh_tokens" USING btree ("parent_id") WHERE "refresh_tokens"."parent_id" is not null;--> statement-breakpoint
CREATE INDEX "refresh_tokens_family_idx" ON "refresh_tokens" USING btree ("family_id");--> statement-breakpoint
CREATE INDEX "refresh_tokens_user_idx" ON "refresh_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "refresh_tokens_expires_idx" ON "refresh_tokens" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "security_events_user_created_idx" ON "security_events" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "security_events_type_created_idx" ON "security_events" USING btree ("event_type","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "sessions_user_live_idx" ON "sessions" USING btree ("user_id") WHERE "sessions"."revoked_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "bookings_one_live_per_slot_uq" ON "bookings" USING btree ("customer_id","provider_service_id","appointment_at") WHERE "bookings"."status" in ('pending', 'accepted');--> statement-breakpoint
CREATE INDEX "bookings_customer_status_created_idx" ON "bookings" USING btree ("customer_id","status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "bookings_customer_created_idx" ON "bookings" USING btree ("customer_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "bookings_provider_status_created_idx" ON "bookings" USING btree ("provider_id","status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "bookings_provider_created_idx" ON "bookings" USING btree ("provider_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "bookings_listing_status_idx" ON "bookings" USING btree ("provider_service_id","status");--> statement-breakpoint
CREATE INDEX "bookings_provider_completed_idx" ON "bookings" USING btree ("provider_id","completed_at") WHERE "bookings"."status" = 'completed';--> statement-breakpoint
CREATE INDEX "bookings_customer_unviewed_idx" ON "bookings" USING btree ("customer_id") WHERE not "bookings"."viewed_by_customer";--> statement-breakpoint
CREATE INDEX "bookings_provider_unviewed_idx" ON "bookings" USING btree ("provider_id") WHERE not "bookings"."viewed_by_provider";--> statement-breakpoint
CREATE INDEX "bookings_live_appointment_idx" ON "bookings" USING btree ("appointment_at") WHERE "bookings"."status" in ('pending', 'accepted');--> statement-breakpoint
CREATE INDEX "call_events_session_created_idx" ON "call_events" USING btree ("call_session_id","created_at");--> statement-breakpoint
CREATE INDEX "call_events_log_idx" ON "call_events" USING btree ("call_log_id");--> statement-breakpoint
CREATE INDEX "call_logs_booking_created_idx" ON "call_logs" USING btree ("booking_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "call_sessions_one_live_per_booking_uq" ON "call_sessions" USING btree ("booking_id") WHERE "call_sessions"."status" in ('ringing', 'active');--> statement-breakpoint
CREATE INDEX "call_sessions_booking_started_idx" ON "call_sessions" USING btree ("booking_id","started_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "provider_reports_users_status_created_idx" ON "provider_reports_users" USING btree ("status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "provider_reports_users_provider_created_idx" ON "provider_reports_users" USING btree ("provider_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "provider_reports_users_customer_idx" ON "provider_reports_users" USING btree ("customer_user_id");--> statement-breakpoint
CREATE INDEX "ratings_ratee_direction_created_idx" ON "ratings" USING btree ("ratee_id","direction","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "user_reports_providers_status_created_idx" ON "user_reports_providers" USING btree ("status","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "user_reports_providers_reporter_created_idx" ON "user_reports_providers" USING btree ("reporter_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "user_reports_providers_provider_idx" ON "user_reports_providers" USING btree ("reported_provider_id");--> statement-breakpoint
CREATE INDEX "labour_access_user_expires_idx" ON "labour_access" USING btree ("user_id","expires_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_user_created_idx" ON "notifications" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "notifications_user_unread_idx" ON "notifications" USING btree ("user_id") WHERE "notifications"."read_at" is null;--> statement-breakpoint
CREATE INDEX "notifications_created_idx" ON "notifications" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "push_deliveries_status_created_idx" ON "push_deliveries" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "push_deliveries_user_created_idx" ON "push_deliveries" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "push_tokens_user_active_idx" ON "push_tokens" USING btree ("user_id") WHERE "push_tokens"."is_active";--> statement-breakpoint
CREATE INDEX "sent_reminders_sent_idx" ON "sent_reminders" USING btree ("sent_at");--> statement-breakpoint
CREATE INDEX "outbox_undispatched_idx" ON "outbox" USING btree ("id") WHERE "outbox"."dispatched_at" is null;--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "payment_api_logs_order_created_idx" ON "payment_api_logs" USING btree ("order_id","created_at");--> statement-breakpoint
CREATE INDEX "payment_api_logs_created_idx" ON "payment_api_logs" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_attempts_one_success_uq" ON "payment_attempts" USING btree ("order_id") WHERE "payment_attempts"."status" = 'success';--> statement-breakpoint
CREATE INDEX "payment_events_order_created_idx" ON "payment_events" USING btree ("order_id","created_at");--> statement-breakpoint
CREATE INDEX "payment_events_refund_idx" ON "payment_events" USING btree ("refund_id") WHERE "payment_events"."refund_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "payment_orders_one_open_listing_fee_uq" ON "payment_orders" USING btree ("user_id","purpose","provider_service_id") WHERE "payment_orders"."status" in ('created', 'pending') and "payment_orders"."provider_service_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "payment_orders_one_open_without_listing_uq" ON "payment_orders" USING btree ("user_id","purpose") WHERE "payment_orders"."status" in ('created', 'pending') and "payment_orders"."provider_service_id" is null;--> statement-breakpoint
CREATE INDEX "payment_orders_status_updated_idx" ON "payment_orders" USING btree ("status","updated_at");--> statement-breakpoint
CREATE INDEX "payment_orders_open_next_check_idx" ON "payment_orders" USING btree ("next_check_at") WHERE "payment_orders"."status" in ('created', 'pending');--> statement-breakpoint
CREATE INDEX "payment_orders_user_created_idx" ON "payment_orders" USING btree ("user_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "payment_orders_listing_created_idx" ON "payment_orders" USING btree ("provider_service_id","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "payment_security_events_kind_created_idx" ON "payment_security_events" USING btree ("kind","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "payment_security_events_order_idx" ON "payment_security_events" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "provider_services_live_uq" ON "provider_services" USING btree ("provider_id","service_id") WHERE "provider_services"."status" <> 'deleted';--> statement-breakpoint
CREATE INDEX "provider_services_service_status_idx" ON "provider_services" USING btree ("service_id","status","expires_at");--> statement-breakpoint
CREATE INDEX "provider_services_provider_idx" ON "provider_services" USING btree ("provider_id");--> statement-breakpoint
CREATE INDEX "provider_services_active_expiry_idx" ON "provider_services" USING btree ("expires_at") WHERE "provider_services"."status" = 'active';--> statement-breakpoint
CREATE INDEX "refunds_order_idx" ON "refunds" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "refunds_open_next_check_idx" ON "refunds" USING btree ("next_check_at") WHERE "refunds"."status" in ('pending', 'processing');--> statement-breakpoint
CREATE INDEX "refunds_status_updated_idx" ON "refunds" USING btree ("status","updated_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_phone_role_live_uq" ON "users" USING btree ("phone","role") WHERE "users"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_role_live_uq" ON "users" USING btree ("email","role") WHERE "users"."email" is not null and "users"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "users_role_created_idx" ON "users" USING btree ("role","created_at" DESC NULLS LAST);