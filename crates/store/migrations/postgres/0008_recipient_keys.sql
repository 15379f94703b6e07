-- Type I authorized users receive pseudonymized extracts as packages encrypted to their
-- organization's registered public key (an age X25519 recipient, `age1...`). Public keys only:
-- the secret key never reaches the producer.
ALTER TABLE organizations ADD COLUMN recipient_public_key TEXT;
ALTER TABLE organizations ADD COLUMN recipient_key_set_at TEXT;
