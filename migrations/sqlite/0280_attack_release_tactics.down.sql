DROP TABLE attack_release_tactics;
