"""The app's pages; `ui` holds what they share (resources, sidebar, replies, reply details)."""
