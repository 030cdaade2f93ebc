"""The pages anyone may see: the entry page, health checks, language choice."""
