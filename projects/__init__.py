"""Self-contained plugins of zerovl. Each one is loaded by its configs' ``custom_imports``; none is imported
by zerovl itself (projects/README.md)."""
