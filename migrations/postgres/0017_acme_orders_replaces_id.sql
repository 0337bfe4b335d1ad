-- The RFC 9773 certificate identifier an order's `replaces` was given as: the order object
-- gives it back exactly as the client sent it.
ALTER TABLE acme_orders ADD COLUMN replaces TEXT NOT NULL DEFAULT '';
