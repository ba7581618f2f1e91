"""mockcvat: a stateful fake of the CVAT server for testing code written against CVAT."""

__version__ = "0.1.0"
