-- Rules drizzle cannot express: state-machine guards, the refund cap, the labour-window exclusion
-- constraint and updated_at maintenance. Every guard raises SQLSTATE 23514 (check_violation) with a
-- CONSTRAINT name, so callers can map it like any CHECK failure; the exclusion constraint raises 23P01.

------------------------------------------------------------------------------------------------
-- updated_at: kept current by the database so raw SQL and every client agree. An UPDATE that sets
-- updated_at explicitly keeps its value.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
    NEW.updated_at := now();
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER addresses_updated_at BEFORE UPDATE ON addresses FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER blocked_identifiers_updated_at BEFORE UPDATE ON blocked_identifiers FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER bookings_updated_at BEFORE UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER call_sessions_updated_at BEFORE UPDATE ON call_sessions FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER notification_settings_updated_at BEFORE UPDATE ON notification_settings FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER otp_lockouts_updated_at BEFORE UPDATE ON otp_lockouts FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER payment_attempts_updated_at BEFORE UPDATE ON payment_attempts FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER payment_orders_updated_at BEFORE UPDATE ON payment_orders FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER provider_profiles_updated_at BEFORE UPDATE ON provider_profiles FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER provider_reports_users_updated_at BEFORE UPDATE ON provider_reports_users FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER provider_services_updated_at BEFORE UPDATE ON provider_services FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER provider_sub_services_updated_at BEFORE UPDATE ON provider_sub_services FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER push_deliveries_updated_at BEFORE UPDATE ON push_deliveries FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER push_tokens_updated_at BEFORE UPDATE ON push_tokens FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER ratings_updated_at BEFORE UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER refunds_updated_at BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER services_master_updated_at BEFORE UPDATE ON services_master FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER sub_services_updated_at BEFORE UPDATE ON sub_services FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER user_reports_providers_updated_at BEFORE UPDATE ON user_reports_providers FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();--> statement-breakpoint

------------------------------------------------------------------------------------------------
-- Bookings: an explicit transition table (upstream allowed pending→completed, rejected→accepted,
-- accepted→rejected and completed→completed, which re-sent notifications: §10 #9). The price and
-- parties are frozen. Status timestamps are stamped here so earnings can trust completed_at.
CREATE FUNCTION bookings_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.customer_id <> OLD.customer_id OR NEW.provider_service_id <> OLD.provider_service_id
       OR NEW.provider_id <> OLD.provider_id OR NEW.selected_sub_services <> OLD.selected_sub_services
       OR NEW.total_price_paise <> OLD.total_price_paise OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR NEW.created_at <> OLD.created_at THEN
      RAISE EXCEPTION 'booking %: parties, price and idempotency key are immutable', OLD.id
        USING ERRCODE = 'check_violation', CONSTRAINT = 'bookings_immutable';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
         (OLD.status = 'pending' AND NEW.status IN ('accepted', 'rejected', 'cancelled'))
      OR (OLD.status = 'accepted' AND NEW.status IN ('completed', 'cancelled'))
    ) THEN
      RAISE EXCEPTION 'booking %: % -> % is not allowed', OLD.id, OLD.status, NEW.status
        USING ERRCODE = 'check_violation', CONSTRAINT = 'bookings_transition';
    END IF;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.status <> OLD.status THEN
    CASE NEW.status
      WHEN 'accepted' THEN NEW.accepted_at := coalesce(NEW.accepted_at, now());
      WHEN 'rejected' THEN NEW.rejected_at := coalesce(NEW.rejected_at, now());
      WHEN 'cancelled' THEN NEW.cancelled_at := coalesce(NEW.cancelled_at, now());
      WHEN 'completed' THEN NEW.completed_at := coalesce(NEW.completed_at, now());
      ELSE NULL;
    END CASE;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER bookings_guard BEFORE INSERT OR UPDATE ON bookings FOR EACH ROW EXECUTE FUNCTION bookings_guard();--> statement-breakpoint

------------------------------------------------------------------------------------------------
-- Payment orders move forward only; `paid` is final. What was bought (payer, purpose, listing,
-- amount, validity) never changes, and the gateway transaction, payment time and activation are
-- write-once: together with payment_orders_gateway_txn_id_uq this makes "paid twice" or "activated
-- twice" unrecordable. failed/expired → paid is allowed: if Paytm later reports the money as taken,
-- the ledger must say so (the service then applies or refunds it).
CREATE FUNCTION payment_orders_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.paytm_order_id <> OLD.paytm_order_id OR NEW.user_id <> OLD.user_id OR NEW.purpose <> OLD.purpose
     OR NEW.provider_service_id IS DISTINCT FROM OLD.provider_service_id OR NEW.amount_paise <> OLD.amount_paise
     OR NEW.currency <> OLD.currency OR NEW.validity_days <> OLD.validity_days OR NEW.created_at <> OLD.created_at THEN
    RAISE EXCEPTION 'payment order %: what was bought and its price are immutable', OLD.paytm_order_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_orders_immutable';
  END IF;
  IF (OLD.gateway_txn_id IS NOT NULL AND NEW.gateway_txn_id IS DISTINCT FROM OLD.gateway_txn_id)
     OR (OLD.paid_at IS NOT NULL AND NEW.paid_at IS DISTINCT FROM OLD.paid_at)
     OR (OLD.activated_at IS NOT NULL AND NEW.activated_at IS DISTINCT FROM OLD.activated_at)
     OR (OLD.granted_from IS NOT NULL AND NEW.granted_from IS DISTINCT FROM OLD.granted_from)
     OR (OLD.granted_until IS NOT NULL AND NEW.granted_until IS DISTINCT FROM OLD.granted_until) THEN
    RAISE EXCEPTION 'payment order %: gateway transaction, payment and activation are write-once', OLD.paytm_order_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_orders_write_once';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'created' AND NEW.status IN ('pending', 'paid', 'failed', 'expired'))
    OR (OLD.status = 'pending' AND NEW.status IN ('paid', 'failed', 'expired'))
    OR (OLD.status IN ('failed', 'expired') AND NEW.status = 'paid')
  ) THEN
    RAISE EXCEPTION 'payment order %: % -> % is not allowed', OLD.paytm_order_id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_orders_transition';
  END IF;
  IF NEW.status <> OLD.status THEN
    IF NEW.status = 'paid' THEN NEW.paid_at := coalesce(NEW.paid_at, now()); END IF;
    IF NEW.status = 'failed' THEN NEW.failed_at := coalesce(NEW.failed_at, now()); END IF;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER payment_orders_guard BEFORE UPDATE ON payment_orders FOR EACH ROW EXECUTE FUNCTION payment_orders_guard();--> statement-breakpoint

-- A successful attempt is final and keeps its transaction id (the unique partial index
-- payment_attempts_one_success_uq allows only one per order).
CREATE FUNCTION payment_attempts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.order_id <> OLD.order_id OR NEW.attempt_no <> OLD.attempt_no THEN
    RAISE EXCEPTION 'payment attempt %: order and number are immutable', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_attempts_immutable';
  END IF;
  IF OLD.status = 'success' AND (NEW.status <> 'success' OR NEW.gateway_txn_id IS DISTINCT FROM OLD.gateway_txn_id) THEN
    RAISE EXCEPTION 'payment attempt %: a successful attempt is final', OLD.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_attempts_transition';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER payment_attempts_guard BEFORE UPDATE ON payment_attempts FOR EACH ROW EXECUTE FUNCTION payment_attempts_guard();--> statement-breakpoint

------------------------------------------------------------------------------------------------
-- Refunds: refId, order, amount and reason never change (a retry reuses the same refId; a new refId
-- for the same money is how double refunds happen). completed and failed are final.
CREATE FUNCTION refunds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.order_id <> OLD.order_id OR NEW.ref_id <> OLD.ref_id OR NEW.amount_paise <> OLD.amount_paise
     OR NEW.reason <> OLD.reason OR NEW.created_at <> OLD.created_at
     OR (OLD.paytm_refund_id IS NOT NULL AND NEW.paytm_refund_id IS DISTINCT FROM OLD.paytm_refund_id) THEN
    RAISE EXCEPTION 'refund %: order, refId, amount, reason and Paytm refundId are immutable', OLD.ref_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_immutable';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'pending' AND NEW.status IN ('processing', 'completed', 'failed', 'needs_attention'))
    OR (OLD.status = 'processing' AND NEW.status IN ('completed', 'failed', 'needs_attention'))
    OR (OLD.status = 'needs_attention' AND NEW.status IN ('pending', 'processing', 'completed', 'failed'))
  ) THEN
    RAISE EXCEPTION 'refund %: % -> % is not allowed', OLD.ref_id, OLD.status, NEW.status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_transition';
  END IF;
  IF NEW.status <> OLD.status THEN
    IF NEW.status = 'completed' THEN NEW.completed_at := coalesce(NEW.completed_at, now()); END IF;
    IF NEW.status = 'failed' THEN NEW.failed_at := coalesce(NEW.failed_at, now()); END IF;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER refunds_guard BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_guard();--> statement-breakpoint

-- The refund cap: the non-failed refunds of an order never exceed what was paid (Paytm rejects
-- cumulative refunds above the transaction amount; we refuse before calling it, anchors.md §1.7).
-- 1. Lock the order row, so concurrent refund inserts for one order run one after the other; under
--    READ COMMITTED the second then sums with a fresh snapshot that includes the first.
-- 2. Sum completed and open (pending/processing/needs_attention) refunds; reject if above the amount.
-- 3. Write both totals onto the order. Besides keeping refunded_amount_paise current, this write
--    makes a REPEATABLE READ / SERIALIZABLE competitor fail with 40001 instead of summing a stale
--    snapshot, and the order's own CHECK (payment_orders_refunds_within_amount) re-asserts the cap.
CREATE FUNCTION refunds_within_paid_amount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  order_status payment_status;
  order_amount integer;
  completed_sum bigint;
  open_sum bigint;
BEGIN
  SELECT status, amount_paise INTO order_status, order_amount
    FROM payment_orders WHERE id = NEW.order_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'refund %: order % does not exist', NEW.ref_id, NEW.order_id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'refunds_order_id_payment_orders_id_fk';
  END IF;
  IF TG_OP = 'INSERT' AND order_status <> 'paid' THEN
    RAISE EXCEPTION 'refund %: order % is %, only paid orders can be refunded', NEW.ref_id, NEW.order_id, order_status
      USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_paid_amount';
  END IF;
  SELECT coalesce(sum(amount_paise) FILTER (WHERE status = 'completed'), 0),
         coalesce(sum(amount_paise) FILTER (WHERE status IN ('pending', 'processing', 'needs_attention')), 0)
    INTO completed_sum, open_sum
    FROM refunds WHERE order_id = NEW.order_id;
  IF completed_sum + open_sum > order_amount THEN
    RAISE EXCEPTION 'refund %: refunds of order % would total % paise, above the paid % paise',
        NEW.ref_id, NEW.order_id, completed_sum + open_sum, order_amount
      USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_paid_amount';
  END IF;
  UPDATE payment_orders
     SET refunded_amount_paise = completed_sum, refunds_open_paise = open_sum
   WHERE id = NEW.order_id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER refunds_within_paid_amount
  AFTER INSERT OR UPDATE OF status, amount_paise, order_id ON refunds
  DEFERRABLE INITIALLY IMMEDIATE
  FOR EACH ROW EXECUTE FUNCTION refunds_within_paid_amount();--> statement-breakpoint

------------------------------------------------------------------------------------------------
-- Labour access windows of one user never overlap: a renewal starts where the current window ends,
-- and two concurrent renewals computed from the same old expiry cannot both commit.
CREATE EXTENSION IF NOT EXISTS btree_gist;--> statement-breakpoint
ALTER TABLE labour_access ADD CONSTRAINT labour_access_no_overlap
  EXCLUDE USING gist (user_id WITH =, tstzrange(starts_at, expires_at, '[)') WITH &&);
