-- Full-text search (issue 16) over the catalogs users search most: test templates,
-- detection rules, techniques and threat actors. Each table gets search_doc, a tsvector
-- generated from the columns its ?search= looks at (so every insert, update and import
-- keeps it current, and adding it fills it for the rows already there), weighted A
-- (titles, names) to D (commands, rule text) for ts_rank, with a GIN index. The
-- 'simple' configuration lowercases without stemming or stop words, so a prefix the
-- user is still typing matches. ASCII punctuation is turned into spaces first, as
-- SQLite's unicode61 tokenizer does, so both databases see the same words:
-- T1059.001 is t1059 and 001, disk_wipe is disk and wipe. Searches are written by
-- store.where.fullText.

ALTER TABLE test_templates ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(name, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(description, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
    setweight(to_tsvector('simple', regexp_replace(command, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
) STORED;
CREATE INDEX test_templates_search_idx ON test_templates USING GIN (search_doc);

ALTER TABLE detection_rules ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(title, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(description, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C') ||
    setweight(to_tsvector('simple', regexp_replace(query, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D') ||
    setweight(to_tsvector('simple', regexp_replace(raw, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'D')
) STORED;
CREATE INDEX detection_rules_search_idx ON detection_rules USING GIN (search_doc);

ALTER TABLE techniques ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(name, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A')
) STORED;
CREATE INDEX techniques_search_idx ON techniques USING GIN (search_doc);

ALTER TABLE threat_actors ADD COLUMN search_doc tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', regexp_replace(name, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'A') ||
    setweight(to_tsvector('simple', regexp_replace(external_id, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(aliases::text, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'B') ||
    setweight(to_tsvector('simple', regexp_replace(description, '[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+', ' ', 'g')), 'C')
) STORED;
CREATE INDEX threat_actors_search_idx ON threat_actors USING GIN (search_doc);
