"""Reading an endpoint: its pages, then a cursor chain or time windows, into the job's spool."""
