-- Whether a federated sign-in's assertion was verified with the keys of an
-- issuer the identity trusts: the console offers "create the credential
-- that would have matched" only for such a refusal, never for claims nobody
-- signed. Records written before this column read as unverified. Numbered
-- 21 (issue 21) so that parallel branches adding 0012.. do not collide.
ALTER TABLE sign_ins ADD COLUMN verified BIGINT NOT NULL DEFAULT 0;
