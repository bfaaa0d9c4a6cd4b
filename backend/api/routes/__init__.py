"""HTTP routes, one module per resource; handlers only translate between HTTP and services."""
