"""Developer scripts: the embedded warehouse and the Meltano demo (`make demo`)."""
