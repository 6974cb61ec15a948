"""Chat backends: where the answers of chat turns come from."""
