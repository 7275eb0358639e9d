"""Mock departments that are *not* among the 19 served by ``python -m mocks``: each runs alone on its own
port, so onboarding (``onestop connector register``) can be tried against a department Onestop has
never seen. ``python -m mocks.extra.<name> --port 0``:

* ``archives`` — API key in the query, a {status, message, result} envelope, offset paging (the guide's
  worked example);
* ``permits`` — a home-made token login, the token in its own header, "expired" as an envelope code;
* ``transit`` — open-platform signed requests (appKey, timestamp, nonce, MD5 sign);
* ``elderly`` — a JSON catalogue plus XML cases in GB18030 under another base path, Chinese dates;
* ``licensing`` — next links, money and ISO 8601 durations as text.
"""
