"""The Excel add-in's Python side: the ribbon's entry points, the live worksheet functions,
the live-book adapter the round trip reads and writes through xlwings ranges, and the
headless xlwings engine that runs all of it here, without Excel.

It holds no business rule: every button and function calls the engine's round trip,
services and queries as the acting user (locally) or the server's routes (remotely)."""
