"""The extraction engine: HubSpot HTTP, credentials, rate limit, retries, windows, read-ahead.

Nothing here imports singer-sdk: the SDK streams are thin adapters that consume
`Extraction.records`, and every part below is testable offline.
"""
