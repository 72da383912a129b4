DROP TABLE coverage_generation;
