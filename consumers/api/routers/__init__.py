"""The API's routes, one module per resource family; ``consumers.api.app.create_app`` includes them."""
