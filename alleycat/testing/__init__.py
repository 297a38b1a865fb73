"""Test doubles shipped with the code (as bytewax ships ``testing.py``): in-memory stand-ins for the
adapters' ports, so plain functions are tested without servers and without monkeypatching."""
