"""Test support: real servers, model fixtures, and the service wired as bootstrap wires it."""
