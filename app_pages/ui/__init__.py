"""Shared UI pieces by concern: resources, sidebar and context, replies, reply details."""
