"""A portal's HTTP: transport, client, credentials, failures, retries, rate limit and slots."""
