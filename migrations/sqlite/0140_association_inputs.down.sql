DROP TABLE association_inputs;
