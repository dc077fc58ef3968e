-- Edge-cache invalidation for the public catalogue (src/catalogue/cache.ts). Public provider lists,
-- listing details and featured providers are cached at the edge under a key that carries
-- services_master.listings_version. These triggers bump it whenever something those reads show
-- changes, whoever writes it: registration and edits, payment activation, the expiry cron, ratings,
-- renames, profile pictures, address moves and admin removals. Bumping in the writer's transaction
-- means the new version is visible exactly when the change commits.

CREATE FUNCTION bump_listings_version_of_provider_user(p_user_id uuid) RETURNS void LANGUAGE sql AS $$
  UPDATE services_master SET listings_version = listings_version + 1
   WHERE id IN (SELECT ps.service_id FROM provider_services ps
                  JOIN provider_profiles pp ON pp.id = ps.provider_id
                 WHERE pp.user_id = p_user_id AND ps.status <> 'deleted');
$$;
--> statement-breakpoint

CREATE FUNCTION listings_version_on_listing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The expiry-warning bookkeeping column is invisible to customers; skip it.
  IF TG_OP = 'UPDATE' AND NEW.status = OLD.status AND NEW.service_description = OLD.service_description
     AND NEW.working_proof_urls = OLD.working_proof_urls AND NEW.expires_at IS NOT DISTINCT FROM OLD.expires_at
     AND NEW.activated_at IS NOT DISTINCT FROM OLD.activated_at THEN
    RETURN NULL;
  END IF;
  UPDATE services_master SET listings_version = listings_version + 1
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.service_id ELSE NEW.service_id END;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER provider_services_listings_version AFTER INSERT OR UPDATE OR DELETE ON provider_services
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_listing();
--> statement-breakpoint

CREATE FUNCTION listings_version_on_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE services_master SET listings_version = listings_version + 1
   WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.service_id ELSE NEW.service_id END;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER provider_sub_services_listings_version AFTER INSERT OR UPDATE OR DELETE ON provider_sub_services
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_price();
--> statement-breakpoint

CREATE FUNCTION listings_version_on_rating() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (CASE WHEN TG_OP = 'DELETE' THEN OLD.direction ELSE NEW.direction END) = 'customer_to_provider' THEN
    PERFORM bump_listings_version_of_provider_user(CASE WHEN TG_OP = 'DELETE' THEN OLD.ratee_id ELSE NEW.ratee_id END);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER ratings_listings_version AFTER INSERT OR UPDATE OR DELETE ON ratings
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_rating();
--> statement-breakpoint

CREATE FUNCTION listings_version_on_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.role = 'provider' AND (NEW.full_name <> OLD.full_name OR NEW.profile_pic_url <> OLD.profile_pic_url
     OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at) THEN
    PERFORM bump_listings_version_of_provider_user(NEW.id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_listings_version AFTER UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_user();
--> statement-breakpoint

CREATE FUNCTION listings_version_on_profile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.years_of_experience <> OLD.years_of_experience OR NEW.is_engineering_provider <> OLD.is_engineering_provider THEN
    PERFORM bump_listings_version_of_provider_user(NEW.user_id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER provider_profiles_listings_version AFTER UPDATE ON provider_profiles
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_profile();
--> statement-breakpoint

CREATE FUNCTION listings_version_on_address() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.type = 'home' AND (TG_OP = 'INSERT' OR NEW.city IS DISTINCT FROM OLD.city OR NEW.state IS DISTINCT FROM OLD.state) THEN
    PERFORM bump_listings_version_of_provider_user(NEW.user_id);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER addresses_listings_version AFTER INSERT OR UPDATE ON addresses
  FOR EACH ROW EXECUTE FUNCTION listings_version_on_address();
