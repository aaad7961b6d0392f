-- Flexible federated identity credentials: a claims matching expression
-- (and its language version) used instead of the subject, which is then
-- empty. Plain credentials keep '' and 0. Numbered 25 (issue 25) so that
-- parallel branches adding 0012.. do not collide.
ALTER TABLE federated_credentials ADD COLUMN expression TEXT NOT NULL DEFAULT '';
ALTER TABLE federated_credentials ADD COLUMN expression_version BIGINT NOT NULL DEFAULT 0;
