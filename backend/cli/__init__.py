"""Command-line interface: a thin layer over the same objects the API uses."""
