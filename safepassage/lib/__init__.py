"""Plain helpers without models."""
