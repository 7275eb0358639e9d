"""What the gateway tells its operators: Prometheus metrics, structured JSON logs, optional traces.

``Observability`` bundles them for one app (own metrics registry, own tracer), so two gateways in one
process (tests) never share counters. ``connectors`` stays free of it: they are handed an
``UpstreamObserver`` (``observability.upstream.UpstreamWatch``) and keep plain counters that the metrics
collector reads at scrape time.
"""
