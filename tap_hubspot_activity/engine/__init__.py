"""The extraction engine: HubSpot HTTP (http/), the reads (reads/), spools, and the run's jobs.

Nothing here imports singer-sdk: the SDK streams are thin adapters that describe their
endpoint as data (jobs.StreamSpec) and consume `Extraction.records`; every part below
is testable offline.
"""
