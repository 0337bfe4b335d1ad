-- A new ACME order for exactly the names of a certificate the same account holds is a
-- renewal (not held to the rate limits); finding that is an exact match on the sorted names.
CREATE INDEX acme_orders_identifiers ON acme_orders (identifiers);
