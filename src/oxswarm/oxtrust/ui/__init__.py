"""oxTrust's administration web UI (``/identity``): sign-in through oxAuth, HTML pages."""
