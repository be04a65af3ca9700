"""Helper package of the course."""
