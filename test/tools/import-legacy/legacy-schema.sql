-- The old Express backend's database, final state after its migrations 001-036, as its live
-- database had it: every table, column, type,
-- default, CHECK, FOREIGN KEY and UNIQUE constraint, the trigger that syncs provider experience, and
-- the primary-key / foreign-key / lookup indexes. The many secondary indexes that only served the old
-- API's list queries are left out: they change no behaviour and would slow the bench's generator.
-- Used by the importer's tests and bench to build a realistic old database.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  full_name text NOT NULL,
  email text UNIQUE,
  phone text NOT NULL,
  password text NOT NULL,
  profile_pic_url text DEFAULT ''::text,
  created_at timestamp DEFAULT now(),
  role text NOT NULL DEFAULT 'user'::text CHECK (role = ANY (ARRAY['user', 'provider', 'admin'])),
  is_verified boolean DEFAULT false,
  labour_access_status text DEFAULT 'inactive'::text CHECK (labour_access_status = ANY (ARRAY['inactive', 'active', 'expired'])),
  labour_access_start_date timestamp,
  labour_access_end_date timestamp,
  name_change_count integer NOT NULL DEFAULT 0
);
CREATE INDEX idx_users_phone_role ON users (phone, role);

CREATE TABLE addresses (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  type text DEFAULT 'home'::text CHECK (type = ANY (ARRAY['home', 'office', 'other'])),
  state text,
  city text,
  full_address text,
  pincode text,
  created_at timestamp DEFAULT now()
);
CREATE INDEX idx_addresses_user_type_created ON addresses (user_id, type, created_at DESC);

CREATE TABLE blocked_identifiers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  identifier_type varchar(20) NOT NULL CHECK ((identifier_type)::text = ANY (ARRAY['phone', 'email'])),
  identifier_value varchar(255) NOT NULL,
  role varchar(50) NOT NULL,
  reason text,
  metadata jsonb DEFAULT '{}'::jsonb,
  blocked_by uuid REFERENCES users(id) ON DELETE SET NULL,
  blocked_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now(),
  CONSTRAINT blocked_identifiers_unique UNIQUE (identifier_type, identifier_value, role)
);

CREATE TABLE services_master (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE,
  category text,
  is_paid boolean DEFAULT true,
  created_at timestamp DEFAULT now(),
  base_price numeric(12,2) NOT NULL DEFAULT 99,
  currency_code char(3) NOT NULL DEFAULT 'INR'::bpchar,
  billing_cycle text NOT NULL DEFAULT 'yearly'::text
    CHECK (billing_cycle = ANY (ARRAY['one_time', 'monthly', 'quarterly', 'yearly', 'biennial', 'triennial', 'lifetime'])),
  billing_interval smallint NOT NULL DEFAULT 1,
  default_pricing_plan_id uuid
);

CREATE TABLE service_pricing (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service_id uuid NOT NULL REFERENCES services_master(id) ON DELETE CASCADE,
  plan_name text NOT NULL,
  description text,
  price numeric(12,2) NOT NULL,
  currency_code char(3) NOT NULL DEFAULT 'INR'::bpchar,
  billing_period text NOT NULL
    CHECK (billing_period = ANY (ARRAY['one_time', 'monthly', 'quarterly', 'yearly', 'biennial', 'triennial', 'custom', 'lifetime'])),
  billing_interval smallint NOT NULL DEFAULT 1 CHECK (billing_interval > 0),
  trial_days smallint DEFAULT 0,
  grace_period_days smallint DEFAULT 0,
  is_active boolean NOT NULL DEFAULT true,
  priority smallint DEFAULT 0,
  effective_from timestamp DEFAULT now(),
  effective_to timestamp,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamp DEFAULT now(),
  updated_at timestamp DEFAULT now()
);
CREATE UNIQUE INDEX idx_service_pricing_service_plan ON service_pricing (service_id, lower(plan_name));
ALTER TABLE services_master ADD CONSTRAINT fk_services_master_default_pricing
  FOREIGN KEY (default_pricing_plan_id) REFERENCES service_pricing(id) ON DELETE SET NULL;

CREATE TABLE provider_profiles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  years_of_experience integer,
  service_description text,
  is_engineering_provider boolean DEFAULT false,
  engineering_certificate_url text DEFAULT ''::text,
  created_at timestamp DEFAULT now(),
  state text,
  city text,
  business_name text,
  experience_years integer,
  rating numeric(3,2) DEFAULT 0,
  total_reviews integer DEFAULT 0
);
CREATE FUNCTION sync_provider_experience() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.experience_years := NEW.years_of_experience;
  RETURN NEW;
END
$$;
CREATE TRIGGER trigger_sync_experience BEFORE INSERT OR UPDATE ON provider_profiles
  FOR EACH ROW EXECUTE FUNCTION sync_provider_experience();

CREATE TABLE provider_services (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider_id uuid REFERENCES provider_profiles(id) ON DELETE CASCADE,
  service_id uuid REFERENCES services_master(id),
  working_proof_urls text[] DEFAULT '{}'::text[],
  payment_status text DEFAULT 'pending'::text CHECK (payment_status = ANY (ARRAY['active', 'expired', 'pending'])),
  payment_start_date date,
  payment_end_date date,
  created_at timestamp DEFAULT now()
);
CREATE INDEX idx_provider_services_provider_service ON provider_services (provider_id, service_id);

CREATE TABLE provider_sub_services (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider_service_id uuid NOT NULL REFERENCES provider_services(id) ON DELETE CASCADE,
  service_id uuid REFERENCES services_master(id) ON DELETE CASCADE,
  price numeric(10,2) NOT NULL CHECK (price > (0)::numeric),
  created_at timestamp DEFAULT now(),
  updated_at timestamp DEFAULT now(),
  sub_service_id text,
  UNIQUE (provider_service_id, sub_service_id)
);

CREATE TABLE bookings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE SET NULL,
  provider_service_id uuid REFERENCES provider_services(id) ON DELETE SET NULL,
  selected_service text,
  appointment_date date,
  appointment_time text,
  address text,
  description text,
  status text DEFAULT 'pending'::text CHECK (status = ANY (ARRAY['pending', 'accepted', 'rejected', 'completed', 'cancelled'])),
  rejection_reason text,
  cancellation_reason text,
  report_reason text,
  report_description text,
  created_at timestamp DEFAULT now(),
  updated_at timestamp DEFAULT now(),
  is_viewed_by_user boolean DEFAULT true,
  is_viewed_by_provider boolean DEFAULT true,
  service_charge_value numeric(10,2),
  provider_id uuid REFERENCES provider_profiles(id),
  provider_name text,
  provider_phone text,
  provider_profile_pic_url text,
  customer_name text,
  customer_phone text
);
CREATE INDEX idx_bookings_user_id ON bookings (user_id);
CREATE INDEX idx_bookings_provider_status ON bookings (provider_id, status);
CREATE INDEX idx_bookings_provider_service_id ON bookings (provider_service_id);

CREATE TABLE ratings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  booking_id uuid REFERENCES bookings(id) ON DELETE CASCADE,
  rating integer CHECK ((rating >= 1) AND (rating <= 5)),
  review text,
  created_at timestamp DEFAULT now(),
  rater_type text NOT NULL CHECK (rater_type = ANY (ARRAY['user', 'provider']))
);
CREATE UNIQUE INDEX idx_ratings_booking_rater_unique ON ratings (booking_id, rater_type);

CREATE TABLE call_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  booking_id uuid REFERENCES bookings(id) ON DELETE CASCADE,
  session_id text NOT NULL UNIQUE,
  proxy_number text NOT NULL,
  customer_phone text NOT NULL,
  provider_phone text NOT NULL,
  customer_participant_sid text,
  provider_participant_sid text,
  status text DEFAULT 'active'::text CHECK (status = ANY (ARRAY['active', 'ended', 'expired'])),
  created_at timestamp DEFAULT now(),
  ended_at timestamp
);

CREATE TABLE call_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  booking_id uuid REFERENCES bookings(id) ON DELETE CASCADE,
  session_id text NOT NULL,
  call_sid text NOT NULL UNIQUE,
  caller_type text NOT NULL CHECK (caller_type = ANY (ARRAY['user', 'provider'])),
  caller_phone text NOT NULL,
  call_status text DEFAULT 'initiated'::text,
  call_duration integer DEFAULT 0,
  connection_quality jsonb,
  error_details jsonb,
  end_reason text,
  metrics jsonb,
  call_started_at timestamp,
  call_ended_at timestamp,
  created_at timestamp DEFAULT now(),
  updated_at timestamp DEFAULT now()
);
CREATE INDEX idx_call_logs_booking_id ON call_logs (booking_id);

CREATE TABLE call_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_log_id uuid REFERENCES call_logs(id) ON DELETE CASCADE,
  event_type text NOT NULL,
  event_data jsonb,
  "timestamp" timestamp DEFAULT now()
);

CREATE TABLE call_recordings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_log_id uuid REFERENCES call_logs(id) ON DELETE CASCADE,
  recording_sid text NOT NULL UNIQUE,
  recording_url text,
  duration integer DEFAULT 0,
  file_size integer DEFAULT 0,
  status text DEFAULT 'processing'::text,
  created_at timestamp DEFAULT now()
);

CREATE TABLE payment_transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id varchar(255) NOT NULL UNIQUE,
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  provider_service_id uuid REFERENCES provider_services(id) ON DELETE CASCADE,
  amount numeric(10,2) NOT NULL,
  status varchar(50) DEFAULT 'pending'::character varying
    CHECK ((status)::text = ANY (ARRAY['pending', 'completed', 'failed', 'refunded'])),
  payment_method varchar(50) DEFAULT 'paytm'::character varying,
  service_name text,
  transaction_id varchar(255),
  payment_gateway_response jsonb,
  payment_flow_id varchar(255),
  user_agent text,
  ip_address inet,
  device_info jsonb,
  error_details jsonb,
  performance_metrics jsonb,
  security_flags jsonb,
  retry_count integer DEFAULT 0,
  retry_reason text,
  created_at timestamp DEFAULT now(),
  completed_at timestamp,
  updated_at timestamp DEFAULT now(),
  pricing_plan_id uuid REFERENCES service_pricing(id) ON DELETE SET NULL,
  currency_code char(3) DEFAULT 'INR'::bpchar
);
CREATE INDEX idx_payment_transactions_user_id ON payment_transactions (user_id);
CREATE INDEX idx_payment_transactions_provider_service_id ON payment_transactions (provider_service_id);

CREATE TABLE payment_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_transaction_id uuid REFERENCES payment_transactions(id) ON DELETE CASCADE,
  event_type text NOT NULL,
  event_data jsonb,
  "timestamp" timestamp DEFAULT now(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  ip_address inet,
  user_agent text
);
CREATE INDEX idx_payment_events_transaction_id ON payment_events (payment_transaction_id);

CREATE TABLE payment_api_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_transaction_id uuid REFERENCES payment_transactions(id) ON DELETE CASCADE,
  api_endpoint text NOT NULL,
  request_method text NOT NULL,
  request_headers jsonb,
  request_body jsonb,
  response_status integer,
  response_headers jsonb,
  response_body jsonb,
  response_time_ms integer,
  error_message text,
  "timestamp" timestamp DEFAULT now()
);
CREATE INDEX idx_payment_api_logs_transaction_id ON payment_api_logs (payment_transaction_id);

CREATE TABLE payment_security_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_transaction_id uuid REFERENCES payment_transactions(id) ON DELETE CASCADE,
  event_type text NOT NULL,
  risk_score numeric(3,2) DEFAULT 0.00,
  risk_factors jsonb,
  action_taken text,
  details jsonb,
  "timestamp" timestamp DEFAULT now()
);

CREATE TABLE payment_locks (
  id serial PRIMARY KEY,
  lock_key varchar(255) NOT NULL UNIQUE,
  user_id varchar(255) NOT NULL,
  provider_service_id varchar(255),
  expires_at timestamp NOT NULL,
  created_at timestamp DEFAULT now()
);

CREATE TABLE labour_payment_transactions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id text NOT NULL UNIQUE,
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  amount numeric(10,2) NOT NULL,
  status text DEFAULT 'pending'::text CHECK (status = ANY (ARRAY['pending', 'completed', 'failed', 'cancelled'])),
  payment_method text NOT NULL DEFAULT 'paytm'::text,
  service_name text NOT NULL,
  payment_flow_id text,
  user_agent text,
  ip_address inet,
  device_info jsonb,
  payment_gateway_response jsonb,
  transaction_id text,
  error_details jsonb,
  created_at timestamp DEFAULT now(),
  completed_at timestamp,
  updated_at timestamp DEFAULT now()
);
CREATE INDEX idx_labour_payment_transactions_user_created ON labour_payment_transactions (user_id, created_at DESC);

CREATE TABLE labour_payment_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  payment_transaction_id uuid REFERENCES labour_payment_transactions(id) ON DELETE CASCADE,
  event_type text NOT NULL,
  event_data jsonb,
  user_id uuid REFERENCES users(id),
  ip_address inet,
  user_agent text,
  "timestamp" timestamp DEFAULT now()
);

CREATE TABLE labour_payment_locks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  lock_key text NOT NULL UNIQUE,
  expires_at timestamp NOT NULL,
  created_at timestamp DEFAULT now()
);

CREATE TABLE notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  title text,
  message text,
  is_read boolean DEFAULT false,
  role text DEFAULT 'user'::text CHECK (role = ANY (ARRAY['user', 'provider', 'admin'])),
  translation_key text,
  translation_params jsonb,
  created_at timestamp DEFAULT now()
);
CREATE INDEX idx_notifications_user_created_at ON notifications (user_id, created_at);

CREATE TABLE notification_delivery_queue (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title text NOT NULL,
  message text NOT NULL,
  role text,
  metadata jsonb DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'pending'::text CHECK (status = ANY (ARRAY['pending', 'processing', 'delivered', 'failed'])),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 5,
  priority integer DEFAULT 0,
  next_attempt_at timestamptz,
  locked_by text,
  processing_started_at timestamptz,
  delivered_at timestamptz,
  last_error text,
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE notification_logs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  notification_type text NOT NULL,
  title text,
  body text,
  data jsonb DEFAULT '{}'::jsonb,
  status text DEFAULT 'sent'::text CHECK (status = ANY (ARRAY['sent', 'failed', 'delivered'])),
  error_message text,
  created_at timestamp DEFAULT now()
);

CREATE TABLE notification_queue (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  notification_data jsonb NOT NULL,
  attempts integer DEFAULT 0,
  max_attempts integer DEFAULT 3,
  next_attempt_at timestamp DEFAULT now(),
  status text DEFAULT 'pending'::text
    CHECK (status = ANY (ARRAY['pending', 'sending', 'waiting_receipt', 'delivered', 'failed', 'retry'])),
  error_message text,
  created_at timestamp DEFAULT now(),
  updated_at timestamp DEFAULT now(),
  push_token text,
  last_error_code text,
  last_attempt_at timestamp,
  delivered_at timestamp,
  metadata jsonb DEFAULT '{}'::jsonb
);

CREATE TABLE notification_receipts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  push_token text NOT NULL,
  receipt_id text,
  status text DEFAULT 'sent'::text CHECK (status = ANY (ARRAY['pending', 'delivered', 'failed', 'sent'])),
  error_code text,
  error_message text,
  created_at timestamp DEFAULT now(),
  queue_id uuid REFERENCES notification_queue(id) ON DELETE CASCADE,
  details jsonb DEFAULT '{}'::jsonb,
  updated_at timestamp DEFAULT now()
);
CREATE UNIQUE INDEX idx_notification_receipts_receipt_id ON notification_receipts (receipt_id);

CREATE TABLE pending_push_notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  notification_payload jsonb NOT NULL,
  metadata jsonb DEFAULT '{}'::jsonb,
  created_at timestamptz DEFAULT now()
);

CREATE TABLE scheduled_notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  notification_data jsonb NOT NULL,
  scheduled_time timestamp NOT NULL,
  sent boolean DEFAULT false,
  sent_at timestamp,
  created_at timestamp DEFAULT now()
);

CREATE TABLE user_push_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  push_token text NOT NULL,
  device_info jsonb DEFAULT '{}'::jsonb,
  is_active boolean DEFAULT true,
  created_at timestamp DEFAULT now(),
  last_seen timestamp DEFAULT now(),
  UNIQUE (user_id, push_token)
);

CREATE TABLE user_notification_settings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid UNIQUE REFERENCES users(id) ON DELETE CASCADE,
  settings jsonb NOT NULL
    DEFAULT '{"reminders": true, "promotional": false, "sound_enabled": true, "booking_updates": true, "vibration_enabled": true}'::jsonb,
  updated_at timestamp DEFAULT now(),
  created_at timestamp DEFAULT now()
);

CREATE TABLE user_reports_providers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  reported_by_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  reported_provider_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  incident_date date NOT NULL,
  incident_time time,
  incident_type text NOT NULL,
  description text NOT NULL,
  evidence jsonb,
  status text DEFAULT 'open'::text CHECK (status = ANY (ARRAY['open', 'resolved', 'closed'])),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);
CREATE VIEW provider_reports AS SELECT * FROM user_reports_providers;

CREATE TABLE provider_reports_users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  provider_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  customer_name text NOT NULL,
  customer_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
  incident_date date NOT NULL,
  incident_time time,
  incident_type text NOT NULL,
  description text NOT NULL,
  evidence jsonb,
  status text DEFAULT 'open'::text CHECK (status = ANY (ARRAY['open', 'resolved', 'closed'])),
  created_at timestamptz DEFAULT now(),
  updated_at timestamptz DEFAULT now()
);

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  token_jti uuid NOT NULL UNIQUE,
  access_token_jti uuid NOT NULL,
  device_name text,
  device_type text,
  ip_address inet,
  user_agent text,
  is_revoked boolean DEFAULT false,
  revoked_at timestamptz,
  revoked_reason text,
  expires_at timestamptz NOT NULL,
  created_at timestamptz DEFAULT now(),
  last_used_at timestamptz,
  family_id uuid,
  CHECK (expires_at > created_at)
);

CREATE TABLE user_sessions (
  id serial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_jti varchar(255) NOT NULL UNIQUE,
  device_name varchar(255),
  device_type varchar(50),
  ip_address varchar(45) NOT NULL,
  user_agent text,
  location_city varchar(100),
  location_country varchar(100),
  created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
  last_activity timestamptz DEFAULT CURRENT_TIMESTAMP,
  expires_at timestamptz NOT NULL,
  is_active boolean DEFAULT true
);

CREATE TABLE token_blacklist (
  id serial PRIMARY KEY,
  token_jti varchar(255) NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  reason varchar(100) NOT NULL,
  blacklisted_at timestamptz DEFAULT CURRENT_TIMESTAMP,
  expires_at timestamptz NOT NULL,
  ip_address varchar(45),
  user_agent text
);

CREATE TABLE login_attempts (
  id serial PRIMARY KEY,
  phone varchar(20) NOT NULL,
  ip_address varchar(45) NOT NULL,
  attempt_type varchar(20) NOT NULL,
  failure_reason varchar(100),
  user_agent text,
  attempted_at timestamptz DEFAULT CURRENT_TIMESTAMP,
  user_id uuid REFERENCES users(id) ON DELETE SET NULL
);

CREATE TABLE security_events (
  id serial PRIMARY KEY,
  user_id uuid REFERENCES users(id) ON DELETE SET NULL,
  event_type varchar(50) NOT NULL,
  event_description text,
  ip_address varchar(45),
  user_agent text,
  severity varchar(20) DEFAULT 'info'::character varying,
  metadata jsonb,
  created_at timestamptz DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE migrations (
  id varchar(10) PRIMARY KEY,
  name text NOT NULL,
  description text,
  executed_at timestamptz DEFAULT now(),
  success boolean DEFAULT true,
  error_message text,
  execution_time_ms integer,
  executed_by text,
  checksum text,
  version integer DEFAULT 1
);

-- The seed (scripts/seed-services.js), with migration 013's price: every service ₹99 yearly.
INSERT INTO services_master (name, category, is_paid) VALUES
  ('plumber', 'plumber', true), ('mason-mastri', 'mason-mastri', true), ('painting', 'painting', true),
  ('granite-tiles', 'granite-tiles', true), ('engineer-interior', 'engineer-interior', true),
  ('electrician', 'electrician', true), ('carpenter', 'carpenter', true), ('painter', 'painter', true),
  ('interiors-building', 'interiors-building', true), ('stainless-steel', 'stainless-steel', true),
  ('contact-building', 'contact-building', true), ('glass-mirror', 'glass-mirror', true),
  ('cleaning', 'cleaning', true), ('borewell', 'borewell', true), ('labors', 'labor', false);
