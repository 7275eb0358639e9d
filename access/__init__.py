"""Who may see whose personal data: the policy, assisted sessions with consent, and the access log."""
