"""The exception tree: every error PersonaLab raises on purpose derives from PersonaLabError."""


class PersonaLabError(Exception):
    """Base class; the message says what went wrong and how to fix it."""


class SettingsError(PersonaLabError):
    """A setting has a value that cannot be used."""


class PersonaError(PersonaLabError):
    """A persona is invalid, missing or cannot be saved."""


class MemoryStoreError(PersonaLabError):
    """The memory store cannot be opened, read or written."""


class BackendError(PersonaLabError):
    """The language model could not produce a reply; `status` is the server's HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status
