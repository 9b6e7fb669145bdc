"""Pydantic schemas: a Create/Update/Public schema per entity."""
