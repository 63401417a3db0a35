"""Cases and their messages: references, lifecycle, threading."""
