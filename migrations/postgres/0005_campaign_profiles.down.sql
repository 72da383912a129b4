DROP TABLE IF EXISTS campaign_profiles;
