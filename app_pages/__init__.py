"""The app's pages; `common` holds what they share (resources, sidebar choices, reply details)."""
