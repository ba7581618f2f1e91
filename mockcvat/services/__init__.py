"""Domain services: what each operation does to the state. No HTTP, no FastAPI here."""
