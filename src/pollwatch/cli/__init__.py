"""The ``pollwatch`` command line: one command, one library call."""
