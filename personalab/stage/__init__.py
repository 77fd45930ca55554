"""The comparison stage: columns streamed together, blind votes, session transcripts."""
