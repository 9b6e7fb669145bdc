"""Every MongoDB query lives here; listing and lookups are scoped to what the caller may read."""
