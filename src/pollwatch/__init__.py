"""pollwatch."""
