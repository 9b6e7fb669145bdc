"""Business rules between routers and repositories."""
