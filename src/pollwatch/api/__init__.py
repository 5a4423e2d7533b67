"""HTTP adapters: FastAPI routes, each a thin call into a domain package."""
