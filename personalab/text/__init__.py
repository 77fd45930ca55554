"""Text helpers: secret redaction (detect-secrets' detectors), safe Markdown, sentences, slugs."""
