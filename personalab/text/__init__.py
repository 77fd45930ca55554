"""Text helpers with no dependencies: secret redaction, safe Markdown, sentences, slugs."""
