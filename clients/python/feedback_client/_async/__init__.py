"""The client's code, written once: `_async/` by hand, `_sync/` generated from it by unasync
(scripts/gen_sync_client.py, run by `make proto`). See `feedback_client._flavour`."""
