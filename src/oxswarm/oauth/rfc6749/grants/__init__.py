"""Token endpoint grant types, one module each, registered on the token endpoint."""
