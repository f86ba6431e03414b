"""A tiny shop: the code the demo gate judges."""
