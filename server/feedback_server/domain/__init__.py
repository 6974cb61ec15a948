"""Domain layer: chat turns, feedback rules, summaries. No protobuf here."""
