"""Helpers the test modules share: servers, clients, fixtures, tiny models. Test modules
import from here, never from each other."""
