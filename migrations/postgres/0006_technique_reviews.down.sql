DROP TABLE IF EXISTS technique_reviews;
