-- Client certificate orders (guide 8) name the person they are for. A person removed later
-- leaves their orders (and the certificates' audit trail) behind, unlinked.
ALTER TABLE certificate_requests ADD COLUMN person_id INTEGER REFERENCES persons (id) ON DELETE SET NULL;
CREATE INDEX certificate_requests_person ON certificate_requests (person_id);
