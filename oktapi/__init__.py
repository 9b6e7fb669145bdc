"""Oktopus: split a paid-media budget among campaigns, timestep by timestep."""
