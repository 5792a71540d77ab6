"""Contacts: the shared party master (organisations, people, addresses) every module uses."""
