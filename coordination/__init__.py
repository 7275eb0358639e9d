"""What gateway processes tell each other: a message bus, in process or through Redis pub/sub."""
