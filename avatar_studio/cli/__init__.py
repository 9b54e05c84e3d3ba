"""The `avatar-studio` command line: one module per subcommand, all thin over the engine."""
