"""Reporting: metric definitions (docs/metrics.md), the reports API and pages, exports,
scheduled reports and alerts."""
