"""Insight: the numbers the design judges the product by (dashboard), read from Temporal."""
