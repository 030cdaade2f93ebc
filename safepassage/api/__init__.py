"""The partner API (/api/v1/) and its tokens."""
