DROP TABLE attack_release_techniques;
