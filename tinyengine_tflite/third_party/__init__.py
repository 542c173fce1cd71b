"""Code this project ships but did not write (see README.md here)."""
