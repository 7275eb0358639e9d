"""What fields do, as plain async functions over the connector registry: testable without GraphQL."""
