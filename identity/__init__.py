"""Who is asking: bearer tokens verified into a ``Principal`` (role, subject, channel)."""
