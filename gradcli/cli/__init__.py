"""The command line: the spec of every command and option (spec.py), its one reading, the
commands (commands.py), and the streams, progress, signals and workers they run with."""
