"""Users, roles and what each role may read, write and see."""
