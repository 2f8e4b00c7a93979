"""modulation."""
