-- The session check of every authenticated request, sent as the first statement of the request's
-- first database call (src/db/client.ts SessionGuard). It raises SQLSTATE BXSES when the session
-- is revoked or unknown, the account deleted, or the role not the token's; the transaction it rides
-- in then rolls back, so no row of the read or write that follows is returned or kept.
CREATE OR REPLACE FUNCTION bx_require_session(p_session uuid, p_user uuid, p_role user_role) RETURNS void
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id
     WHERE s.id = p_session AND s.user_id = p_user AND s.revoked_at IS NULL
       AND u.deleted_at IS NULL AND u.role = p_role
  ) THEN
    RAISE EXCEPTION 'session is no longer valid' USING ERRCODE = 'BXSES';
  END IF;
END
$$;
